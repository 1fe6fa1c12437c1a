from __future__ import annotations

from factory.declarations import LazyAttribute, LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory

from notes.models import NoteRevision, NoteTemplate
from tests.factories import NoteFactory, PracticeFactory


class NoteRevisionFactory(DjangoModelFactory[NoteRevision]):
    class Meta:
        model = NoteRevision

    note = SubFactory(NoteFactory)
    version = Sequence(lambda n: n + 1)
    sections = LazyAttribute(lambda revision: revision.note.sections)
    source = NoteRevision.Source.CLINICIAN


class NoteTemplateFactory(DjangoModelFactory[NoteTemplate]):
    class Meta:
        model = NoteTemplate

    practice = SubFactory(PracticeFactory)
    key = Sequence(lambda n: f"custom{n}")
    name = Sequence(lambda n: f"Custom format {n}")
    sections = LazyFunction(
        lambda: [
            {"key": "concerns", "heading": "Concerns", "instruction": "What the client brought."},
            {"key": "next_steps", "heading": "Next steps", "instruction": "What happens next."},
        ]
    )
