from __future__ import annotations

from typing import Any

from factory.declarations import LazyAttribute, LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory

from formats.models import NoteTemplate
from notes.content import NoteContent
from notes.models import NoteRevision
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


SOAP_HEADINGS = {"subjective": "Subjective", "objective": "Objective", "assessment": "Assessment", "plan": "Plan"}


def draft_sections(
    texts: dict[str, str] | None = None, *, unsupported: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """A drafted SOAP note as notes stored it before statements carried flags: each section cites segments;
    ``unsupported`` adds, per section key, a statement that cites nothing."""
    texts = texts or {}
    unsupported = unsupported or {}
    sections = []
    for position, (key, heading) in enumerate(SOAP_HEADINGS.items()):
        text = texts.get(key, f"Drafted {heading.lower()}.")
        statements: list[dict[str, Any]] = [{"text": text, "evidence": [position + 1], "supported": True}]
        flags = []
        if key in unsupported:
            statements.append({"text": unsupported[key], "evidence": [], "supported": False})
            flags.append("unsupported")
        sections.append(
            {
                "key": key,
                "heading": heading,
                "text": text,
                "evidence": [position + 1, position + 3],
                "flags": flags,
                "statements": statements,
            }
        )
    return sections


def draft_content(texts: dict[str, str] | None = None, *, unsupported: dict[str, str] | None = None) -> NoteContent:
    """``draft_sections`` as the typed value the pipeline hands to ``note_apply_draft``."""
    return NoteContent.from_json(draft_sections(texts, unsupported=unsupported))
