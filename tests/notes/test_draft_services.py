from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.db.models import F

from notes import services
from notes.content import Flag, FlagKind, NoteContent, Section, Statement
from notes.models import Note, NoteQuerySet, NoteRevision
from notes.services import (
    NoteConflict,
    NoteDraftUnavailable,
    NoteLocked,
    NoteTemplateUnavailable,
    note_accept_draft,
    note_apply_draft,
    note_dismiss_draft,
    note_open,
    note_save,
    note_sign,
)
from tests.factories import ClinicalSessionFactory
from tests.notes.factories import draft_sections

pytestmark = pytest.mark.django_db

JOB_1 = "6f1c2a7e-0000-4000-8000-000000000001"
JOB_2 = "6f1c2a7e-0000-4000-8000-000000000002"


def _apply(session, ref: str = JOB_1, sections: list[dict[str, Any]] | None = None) -> Note:
    return note_apply_draft(
        session=session,
        draft=NoteContent.from_json(draft_sections() if sections is None else sections),
        draft_ref=ref,
        model="claude-test",
        prompt_version="draft-v3",
    )


def _stored(note: Note) -> Note:
    return Note.objects.get(pk=note.pk)


# --- applying a draft --------------------------------------------------------------------------


def test_apply_draft_creates_the_note_when_the_session_has_none(alice_session):
    note = _apply(alice_session, sections=draft_sections({"plan": "Weekly CBT sessions."}))

    stored = _stored(note)
    assert (stored.session_id, stored.note_type, stored.template_name) == (alice_session.pk, "soap", "SOAP")
    assert stored.version == 1
    assert [s["key"] for s in stored.sections] == ["subjective", "objective", "assessment", "plan"]
    assert stored.section_texts()["plan"] == "Weekly CBT sessions."
    assert stored.sections[0]["evidence"] == [1, 3]
    revision = NoteRevision.objects.get(note=note)
    assert (revision.version, revision.source, revision.author) == (1, NoteRevision.Source.AI_DRAFT, None)
    assert revision.draft_ref == JOB_1
    assert revision.meta == {"model": "claude-test", "prompt_version": "draft-v3"}
    assert revision.sections == stored.sections


def test_apply_draft_replaces_the_sections_of_a_note_nobody_has_edited(alice_note):
    note = _apply(alice_note.session, sections=draft_sections({"subjective": "Sleeping five hours a night."}))

    stored = _stored(alice_note)
    assert note.pk == alice_note.pk
    assert stored.version == 2
    assert stored.section_texts()["subjective"] == "Sleeping five hours a night."
    assert stored.pending_draft is None
    revision = NoteRevision.objects.get(note=alice_note, version=2)
    assert (revision.source, revision.draft_ref) == (NoteRevision.Source.AI_DRAFT, JOB_1)


def test_a_second_draft_replaces_a_first_draft_nobody_edited(alice_session):
    _apply(alice_session, JOB_1, draft_sections({"plan": "First plan."}))

    note = _apply(alice_session, JOB_2, draft_sections({"plan": "Second plan."}))

    stored = _stored(note)
    assert (stored.version, stored.section_texts()["plan"]) == (2, "Second plan.")
    assert list(NoteRevision.objects.filter(note=note).values_list("draft_ref", flat=True)) == [JOB_1, JOB_2]


def test_apply_draft_keeps_a_clinicians_edits_and_holds_the_draft_pending(alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Alice's own plan."}, author=alice)

    note = _apply(alice_note.session, sections=draft_sections({"plan": "The AI's plan."}))

    stored = _stored(alice_note)
    assert (stored.version, stored.section_texts()["plan"]) == (2, "Alice's own plan.")
    assert stored.pending_draft is not None
    assert stored.pending_draft["draft_ref"] == JOB_1
    assert stored.pending_draft["model"] == "claude-test"
    assert stored.pending_draft["prompt_version"] == "draft-v3"
    assert {s["key"]: s["text"] for s in stored.pending_draft["sections"]}["plan"] == "The AI's plan."
    assert dt.datetime.fromisoformat(stored.pending_draft["created_at"]).tzinfo is not None
    assert note.pending_draft == stored.pending_draft
    assert NoteRevision.objects.filter(note=alice_note).count() == 2


def test_apply_draft_to_a_signed_note_holds_the_draft_pending(alice_note, alice):
    note_sign(note=alice_note, version=1, signed_by=alice)

    _apply(alice_note.session, sections=draft_sections({"plan": "The AI's plan."}))

    stored = _stored(alice_note)
    assert (stored.status, stored.version, stored.section_texts()["plan"]) == (Note.Status.SIGNED, 1, "")
    assert stored.pending_draft is not None
    assert stored.pending_draft["draft_ref"] == JOB_1
    assert NoteRevision.objects.filter(note=alice_note).count() == 1


def test_a_newer_draft_takes_the_place_of_a_pending_one(alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Alice's plan."}, author=alice)
    _apply(alice_note.session, JOB_1, draft_sections({"plan": "First AI plan."}))

    _apply(alice_note.session, JOB_2, draft_sections({"plan": "Second AI plan."}))

    pending = _stored(alice_note).pending_draft
    assert pending is not None
    assert pending["draft_ref"] == JOB_2
    assert {s["key"]: s["text"] for s in pending["sections"]}["plan"] == "Second AI plan."


def test_applying_the_same_draft_twice_creates_one_note_and_one_revision(alice_session):
    first = _apply(alice_session, JOB_1, draft_sections({"plan": "Plan."}))
    second = _apply(alice_session, JOB_1, draft_sections({"plan": "Plan."}))

    assert first.pk == second.pk
    assert Note.objects.count() == 1
    assert NoteRevision.objects.count() == 1
    assert _stored(first).version == 1


def test_applying_the_same_draft_twice_to_an_unedited_note_makes_one_version(alice_note):
    _apply(alice_note.session, JOB_1)
    _apply(alice_note.session, JOB_1)

    assert _stored(alice_note).version == 2
    assert NoteRevision.objects.filter(note=alice_note, draft_ref=JOB_1).count() == 1


def test_applying_the_same_draft_twice_leaves_the_pending_draft_as_it_was(alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Alice's plan."}, author=alice)
    _apply(alice_note.session, JOB_1)
    pending_before = _stored(alice_note).pending_draft

    _apply(alice_note.session, JOB_1, draft_sections({"plan": "A redelivery that differs."}))

    assert _stored(alice_note).pending_draft == pending_before


def test_a_dismissed_draft_does_not_come_back_when_it_is_delivered_again(alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Alice's plan."}, author=alice)
    _apply(alice_note.session, JOB_1)
    note_dismiss_draft(note=alice_note, author=alice)

    _apply(alice_note.session, JOB_1)

    assert _stored(alice_note).pending_draft is None


def test_an_accepted_draft_delivered_again_changes_nothing(alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Alice's plan."}, author=alice)
    _apply(alice_note.session, JOB_1)
    note_accept_draft(note=alice_note, version=2, author=alice)

    _apply(alice_note.session, JOB_1)

    stored = _stored(alice_note)
    assert (stored.version, stored.pending_draft) == (3, None)


def test_apply_draft_marks_a_section_with_an_uncited_statement_unsupported(alice_session):
    sections = draft_sections(unsupported={"assessment": "Client has a history of panic disorder."})
    for section in sections:
        section["flags"] = []

    note = _apply(alice_session, sections=sections)

    flags = {s["key"]: s["flags"] for s in _stored(note).sections}
    assert flags["assessment"] == ["unsupported"]
    assert flags["plan"] == []
    statements = {s["key"]: s["statements"] for s in _stored(note).sections}["assessment"]
    assert [st["supported"] for st in statements] == [True, False]


def test_apply_draft_drops_an_unsupported_flag_that_no_statement_justifies(alice_session):
    sections = draft_sections()
    sections[0]["flags"] = ["unsupported", "unsupported"]

    note = _apply(alice_session, sections=sections)

    assert _stored(note).sections[0]["flags"] == []


def test_apply_draft_stores_the_content_as_it_was_built(alice_session):
    dose = Flag(FlagKind.DOSE, "The transcript says 50 mg.", (4,), said="fifty milligrams")
    plan = Section.from_statements(
        key="plan",
        heading="Plan",
        statements=(Statement("Sertraline 100 mg.", (4,), (dose,)), Statement("Lives alone.", (), (Flag.uncited(),))),
    )
    draft = NoteContent(sections=(Section(key="subjective", heading="Subjective", text="", evidence=(1, 2)), plan))

    note = note_apply_draft(
        session=alice_session, draft=draft, draft_ref=JOB_1, model="claude-test", prompt_version="draft-v3"
    )

    stored = _stored(note)
    assert stored.sections == draft.to_json()
    assert stored.content == draft
    assert NoteRevision.objects.get(note=note).sections == draft.to_json()


@pytest.mark.parametrize(
    "broken",
    [
        [],
        [{"heading": "Plan", "text": "No key."}],
        [{"key": "plan", "text": "No heading."}],
        [{"key": "plan", "heading": "Plan", "text": 3}],
        [{"key": "plan", "heading": "Plan", "text": "x", "evidence": ["s1"]}],
        [{"key": "plan", "heading": "Plan", "text": "x", "evidence": [True]}],
        [{"key": "plan", "heading": "Plan", "text": "x", "statements": [{"text": "y", "supported": "yes"}]}],
        [{"key": "plan", "heading": "Plan", "text": "x"}, {"key": "plan", "heading": "Plan", "text": "y"}],
    ],
)
def test_apply_draft_refuses_malformed_sections_and_writes_nothing(alice_session, broken):
    with pytest.raises(ValueError, match=r"\S"):
        _apply(alice_session, sections=broken)

    assert not Note.objects.exists()


def test_apply_draft_needs_a_draft_ref(alice_session):
    with pytest.raises(ValueError, match="draft_ref"):
        _apply(alice_session, ref="")

    assert not Note.objects.exists()


def test_apply_draft_refuses_a_format_the_practice_does_not_have(practice, alice):
    session = ClinicalSessionFactory.create(practice=practice, clinician=alice, note_type="retired_format")

    with pytest.raises(NoteTemplateUnavailable):
        _apply(session)

    assert not Note.objects.exists()


def test_a_clinician_save_racing_the_draft_wins_and_the_draft_goes_pending(alice_note, alice):
    real_check = services._clinician_has_edited
    saves: list[Note] = []

    def checked_then_clinician_saves(note: Note) -> bool:
        answer = real_check(note)
        if not saves:
            # The clinician's save lands after the check but before the guarded update.
            saves.append(note_save(note=_stored(note), version=note.version, texts={"plan": "Typed."}, author=alice))
        return answer

    with mock.patch("notes.services._clinician_has_edited", side_effect=checked_then_clinician_saves):
        _apply(alice_note.session, sections=draft_sections({"plan": "The AI's plan."}))

    stored = _stored(alice_note)
    assert (stored.version, stored.section_texts()["plan"]) == (2, "Typed.")
    assert stored.pending_draft is not None
    assert stored.pending_draft["draft_ref"] == JOB_1


def test_a_draft_that_loses_the_race_to_create_the_note_goes_into_the_note_that_won(alice_session, alice):
    winner = note_open(session=alice_session, opened_by=alice)
    real_first = NoteQuerySet.first
    lookups: list[int] = []

    def first_misses_once(self: NoteQuerySet) -> Note | None:
        lookups.append(1)
        return None if len(lookups) == 1 else real_first(self)

    with mock.patch.object(NoteQuerySet, "first", autospec=True, side_effect=first_misses_once):
        note = _apply(alice_session, sections=draft_sections({"plan": "The AI's plan."}))

    assert note.pk == winner.pk
    assert Note.objects.count() == 1
    stored = _stored(winner)
    assert (stored.version, stored.section_texts()["plan"]) == (2, "The AI's plan.")


def test_apply_draft_gives_up_with_a_conflict_when_the_note_keeps_moving(alice_note):
    with (
        mock.patch("notes.services._replace_with_draft", return_value=None) as replace,
        pytest.raises(NoteConflict),
    ):
        _apply(alice_note.session)

    assert replace.call_count == services.MAX_DRAFT_ATTEMPTS
    assert _stored(alice_note).version == 1


# --- accepting and dismissing ------------------------------------------------------------------


@pytest.fixture
def note_with_pending_draft(alice_note: Note, alice) -> Note:
    note_save(note=alice_note, version=1, texts={"plan": "Alice's plan."}, author=alice)
    _apply(alice_note.session, JOB_1, draft_sections({"plan": "The AI's plan."}))
    return _stored(alice_note)


def test_accepting_the_draft_makes_it_a_new_version_and_clears_it(note_with_pending_draft, bob):
    accepted = note_accept_draft(note=note_with_pending_draft, version=2, author=bob, draft_ref=JOB_1)

    stored = _stored(note_with_pending_draft)
    assert accepted.version == stored.version == 3
    assert stored.section_texts()["plan"] == "The AI's plan."
    assert stored.pending_draft is None
    revision = NoteRevision.objects.get(note=stored, version=3)
    assert (revision.source, revision.author, revision.draft_ref) == (NoteRevision.Source.AI_DRAFT, bob, JOB_1)
    assert revision.meta == {"model": "claude-test", "prompt_version": "draft-v3"}


def test_accepting_over_a_stale_version_is_refused_and_keeps_the_draft(note_with_pending_draft, alice):
    note_save(note=note_with_pending_draft, version=2, texts={"plan": "Edited again."}, author=alice)

    with pytest.raises(NoteConflict) as raised:
        note_accept_draft(note=note_with_pending_draft, version=2, author=alice)

    assert raised.value.current.version == 3
    stored = _stored(note_with_pending_draft)
    assert stored.section_texts()["plan"] == "Edited again."
    assert stored.pending_draft is not None


def test_accepting_is_guarded_when_the_note_moves_after_it_was_read(note_with_pending_draft, alice):
    # Another save lands between this accept's read and its guarded UPDATE.
    with mock.patch.object(Note, "refresh_from_db", autospec=True):
        Note.objects.filter(pk=note_with_pending_draft.pk).update(version=F("version") + 1)
        with pytest.raises(NoteConflict):
            note_accept_draft(note=note_with_pending_draft, version=2, author=alice)

    stored = _stored(note_with_pending_draft)
    assert stored.section_texts()["plan"] == "Alice's plan."
    assert stored.pending_draft is not None
    assert not NoteRevision.objects.filter(note=stored, draft_ref=JOB_1).exists()


def test_accepting_a_draft_on_a_signed_note_is_refused(alice_note, alice):
    note_sign(note=alice_note, version=1, signed_by=alice)
    _apply(alice_note.session)

    with pytest.raises(NoteLocked):
        note_accept_draft(note=alice_note, version=1, author=alice)

    stored = _stored(alice_note)
    assert (stored.version, stored.section_texts()["plan"]) == (1, "")
    assert stored.pending_draft is not None


def test_accepting_a_draft_that_was_replaced_by_a_newer_one_is_refused(note_with_pending_draft, alice):
    _apply(note_with_pending_draft.session, JOB_2, draft_sections({"plan": "Newer AI plan."}))

    with pytest.raises(NoteDraftUnavailable):
        note_accept_draft(note=note_with_pending_draft, version=2, author=alice, draft_ref=JOB_1)

    stored = _stored(note_with_pending_draft)
    assert stored.section_texts()["plan"] == "Alice's plan."
    assert stored.pending_draft is not None
    assert stored.pending_draft["draft_ref"] == JOB_2


def test_accepting_when_no_draft_is_pending_is_refused(alice_note, alice):
    with pytest.raises(NoteDraftUnavailable):
        note_accept_draft(note=alice_note, version=1, author=alice)

    assert _stored(alice_note).version == 1


def test_dismissing_the_draft_clears_it_and_leaves_the_text(note_with_pending_draft, alice):
    note_dismiss_draft(note=note_with_pending_draft, author=alice, draft_ref=JOB_1)

    stored = _stored(note_with_pending_draft)
    assert stored.pending_draft is None
    assert (stored.version, stored.section_texts()["plan"]) == (2, "Alice's plan.")
    assert NoteRevision.objects.filter(note=stored).count() == 2


def test_dismissing_an_older_draft_keeps_a_newer_one_pending(note_with_pending_draft, alice):
    _apply(note_with_pending_draft.session, JOB_2)

    with pytest.raises(NoteDraftUnavailable):
        note_dismiss_draft(note=note_with_pending_draft, author=alice, draft_ref=JOB_1)

    pending = _stored(note_with_pending_draft).pending_draft
    assert pending is not None
    assert pending["draft_ref"] == JOB_2


def test_dismissing_twice_is_harmless(note_with_pending_draft, alice):
    note_dismiss_draft(note=note_with_pending_draft, author=alice, draft_ref=JOB_1)
    again = note_dismiss_draft(note=note_with_pending_draft, author=alice, draft_ref=JOB_1)

    assert again.pending_draft is None


def test_a_draft_pending_on_a_signed_note_can_be_dismissed(alice_note, alice):
    note_sign(note=alice_note, version=1, signed_by=alice)
    _apply(alice_note.session)

    note_dismiss_draft(note=alice_note, author=alice)

    stored = _stored(alice_note)
    assert (stored.pending_draft, stored.status) == (None, Note.Status.SIGNED)


def test_apply_draft_drops_characters_a_database_cannot_store(alice_session):
    sections = draft_sections({"plan": "Weekly\x00 sessions.\ud800"})
    sections[3]["statements"][0]["text"] = "Weekly\x00 sessions."

    note = _apply(alice_session, sections=sections)

    plan = _stored(note).sections[3]
    assert plan["text"] == "Weekly sessions."
    assert plan["statements"][0]["text"] == "Weekly sessions."
