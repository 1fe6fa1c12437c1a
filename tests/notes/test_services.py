from __future__ import annotations

from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import User
from formats.builtin import BUILTIN_TEMPLATES
from notes.content import FlagKind
from notes.models import Note, NoteRevision
from notes.services import (
    NoteConflict,
    NoteLocked,
    NoteTemplateUnavailable,
    note_open,
    note_save,
)
from sessions.models import ClinicalSession
from tests.factories import ClinicalSessionFactory
from tests.notes.factories import NoteTemplateFactory

pytestmark = pytest.mark.django_db


def _stored(note: Note) -> Note:
    return Note.objects.get(pk=note.pk)


def test_note_open_creates_the_sessions_note_with_empty_template_sections(alice_session, alice):
    note = note_open(session=alice_session, opened_by=alice)

    assert note.session_id == alice_session.pk
    assert note.note_type == "soap"
    assert note.template_name == "SOAP"
    assert note.version == 1
    assert [s["key"] for s in note.sections] == [s.key for s in BUILTIN_TEMPLATES["soap"].sections]
    assert [s["heading"] for s in note.sections] == [s.heading for s in BUILTIN_TEMPLATES["soap"].sections]
    assert all(s["text"] == "" and s["evidence"] == [] and s["flags"] == [] for s in note.sections)


def test_note_open_writes_the_first_revision_as_created(alice_session, alice):
    note = note_open(session=alice_session, opened_by=alice)

    revision = NoteRevision.objects.get(note=note)
    assert (revision.version, revision.source, revision.author) == (1, NoteRevision.Source.CREATED, alice)
    assert revision.sections == note.sections


def test_note_open_twice_returns_the_same_note(alice_session, alice):
    first = note_open(session=alice_session, opened_by=alice)
    second = note_open(session=alice_session, opened_by=alice)

    assert first.pk == second.pk
    assert Note.objects.count() == 1
    assert NoteRevision.objects.count() == 1


def test_note_open_that_loses_a_race_returns_the_note_the_other_request_created(alice_session, alice, bob):
    winner = note_open(session=alice_session, opened_by=bob)
    # The loser's lookup ran before the winner's insert committed.
    with mock.patch("notes.models.NoteQuerySet.first", return_value=None):
        loser = note_open(session=alice_session, opened_by=alice)

    assert loser.pk == winner.pk
    assert Note.objects.count() == 1
    assert NoteRevision.objects.count() == 1


def test_note_open_uses_the_practices_own_template(practice, alice):
    NoteTemplateFactory(practice=practice, key="intake", name="Intake")
    session = ClinicalSessionFactory.create(practice=practice, clinician=alice, note_type="intake")

    note = note_open(session=session, opened_by=alice)

    assert note.template_name == "Intake"
    assert [s["key"] for s in note.sections] == ["concerns", "next_steps"]


def test_note_open_refuses_a_format_the_practice_does_not_have(practice, alice):
    session = ClinicalSessionFactory.create(practice=practice, clinician=alice, note_type="deleted_format")

    with pytest.raises(NoteTemplateUnavailable):
        note_open(session=session, opened_by=alice)
    assert not Note.objects.exists()


def test_note_save_bumps_the_version_and_writes_a_clinician_revision(alice_note, bob):
    saved = note_save(note=alice_note, version=1, texts={"subjective": "Sleeping better."}, author=bob)

    assert saved.version == 2
    stored = _stored(alice_note)
    assert stored.version == 2
    assert stored.section_texts()["subjective"] == "Sleeping better."
    revision = NoteRevision.objects.get(note=alice_note, version=2)
    assert (revision.source, revision.author) == (NoteRevision.Source.CLINICIAN, bob)
    assert revision.sections == stored.sections


def test_note_save_marks_only_edited_sections_and_keeps_the_evidence_of_statements_it_kept(alice_note, alice):
    sections = [dict(s) for s in alice_note.sections]
    sections[0].update(
        text="Low mood.\nSleeps four hours.",
        evidence=[1, 2],
        flags=["unsupported"],
        statements=[
            {"text": "Low mood.", "evidence": [], "flags": [{"kind": "unsupported", "message": "Check."}]},
            {"text": "Sleeps four hours.", "evidence": [2], "flags": []},
        ],
    )
    sections[1].update(
        text="Calm.", evidence=[3], flags=[], statements=[{"text": "Calm.", "evidence": [3], "supported": True}]
    )
    Note.objects.filter(pk=alice_note.pk).update(sections=sections)
    alice_note.refresh_from_db()

    texts = {"subjective": "Low mood, improving.\nSleeps four hours.", "objective": "Calm."}
    note_save(note=alice_note, version=1, texts=texts, author=alice)

    stored = {s["key"]: s for s in _stored(alice_note).sections}
    assert stored["subjective"]["evidence"] == [2]
    assert stored["subjective"]["flags"] == [FlagKind.EDITED]
    assert [(s["text"], s["evidence"]) for s in stored["subjective"]["statements"]] == [
        ("Low mood, improving.", []),
        ("Sleeps four hours.", [2]),
    ]
    assert [f["kind"] for f in stored["subjective"]["statements"][0]["flags"]] == [FlagKind.EDITED]
    assert stored["objective"]["evidence"] == [3]
    assert stored["objective"]["flags"] == []


def test_note_save_with_a_stale_version_raises_and_changes_nothing(alice_note, alice, bob):
    note_save(note=alice_note, version=1, texts={"plan": "Bob's plan."}, author=bob)
    stale_copy = Note.objects.get(pk=alice_note.pk)
    stale_copy.version = 1

    with pytest.raises(NoteConflict) as raised:
        note_save(note=stale_copy, version=1, texts={"plan": "Alice's plan."}, author=alice)

    assert raised.value.current.version == 2
    assert raised.value.current.section_texts()["plan"] == "Bob's plan."
    stored = _stored(alice_note)
    assert (stored.version, stored.section_texts()["plan"]) == (2, "Bob's plan.")
    assert NoteRevision.objects.filter(note=alice_note).count() == 2


def test_note_save_loses_the_race_when_the_row_moved_after_it_was_read(alice_note, alice, bob):
    # Another save lands between this save's read and its guarded UPDATE.
    Note.objects.filter(pk=alice_note.pk).update(version=2)

    with pytest.raises(NoteConflict):
        note_save(note=alice_note, version=1, texts={"plan": "Alice's plan."}, author=alice)

    assert _stored(alice_note).section_texts()["plan"] == ""
    assert not NoteRevision.objects.filter(note=alice_note, version=2).exists()


def test_note_save_from_an_old_instance_keeps_sections_saved_since(alice_note, alice, bob):
    old_instance = Note.objects.get(pk=alice_note.pk)
    note_save(note=alice_note, version=1, texts={"plan": "Bob's plan."}, author=bob)

    note_save(note=old_instance, version=2, texts={"subjective": "Alice's account."}, author=alice)

    texts = _stored(alice_note).section_texts()
    assert texts["plan"] == "Bob's plan."
    assert texts["subjective"] == "Alice's account."


def test_note_save_without_changes_is_not_a_new_revision(alice_note, alice):
    note_save(note=alice_note, version=1, texts={"subjective": "Same.\nText."}, author=alice)

    again = note_save(note=alice_note, version=2, texts={"subjective": "Same.\r\nText.", "plan": ""}, author=alice)

    assert again.version == 2
    assert _stored(alice_note).version == 2
    assert NoteRevision.objects.filter(note=alice_note).count() == 2


def test_note_save_ignores_unknown_section_keys(alice_note, alice):
    saved = note_save(note=alice_note, version=1, texts={"not_a_section": "Injected."}, author=alice)

    assert saved.version == 1
    assert "not_a_section" not in _stored(alice_note).section_texts()


def test_note_save_refuses_a_signed_note(alice_note, alice):
    Note.objects.filter(pk=alice_note.pk).update(status=Note.Status.SIGNED, signed_at=timezone.now(), signed_by=alice)
    alice_note.refresh_from_db()

    with pytest.raises(NoteLocked):
        note_save(note=alice_note, version=1, texts={"plan": "Changed after signing."}, author=alice)

    assert _stored(alice_note).section_texts()["plan"] == ""


def test_note_save_refuses_a_note_signed_after_it_was_read(alice_note, alice):
    Note.objects.filter(pk=alice_note.pk).update(status=Note.Status.SIGNED)

    with pytest.raises(NoteLocked):
        note_save(note=alice_note, version=1, texts={"plan": "Changed after signing."}, author=alice)

    stored = _stored(alice_note)
    assert (stored.version, stored.section_texts()["plan"]) == (1, "")


def test_sessions_of_another_type_get_their_own_note(alice_session: ClinicalSession, alice: User):
    soap = note_open(session=alice_session, opened_by=alice)
    alice_session.note_type = "birp"
    alice_session.save()

    birp = note_open(session=alice_session, opened_by=alice)

    assert birp.pk != soap.pk
    assert birp.template_name == "BIRP"
