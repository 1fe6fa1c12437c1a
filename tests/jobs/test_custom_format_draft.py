"""A practice's own note format shapes the draft: its sections, in its order, filled from the transcript."""

from __future__ import annotations

import pytest

from formats.models import NoteTemplate
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db

SECTIONS = [
    {"key": "presenting_problem", "heading": "Presenting problem", "instruction": "What brought the client in."},
    {"key": "plan", "heading": "Plan", "instruction": "Next steps agreed."},
    {"key": "risk", "heading": "Risk", "instruction": "Any risk discussed."},
]


def test_a_draft_follows_the_practices_own_format(alice, practice, settings):
    settings.AI_MODE = "stub"
    NoteTemplate.objects.create(practice=practice, key="progress-note", name="Progress note", sections=SECTIONS)
    session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="progress-note")
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="a.webm", uploaded_by=alice
    )
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))

    note = Note.objects.get(session=session)
    assert [(s["key"], s["heading"]) for s in note.sections] == [(s["key"], s["heading"]) for s in SECTIONS]
    assert note.template_name == "Progress note"
    filled = [s for s in note.sections if s["text"].strip()]
    assert filled
    assert all(s["evidence"] for s in filled)
