"""The session knows where its note stands: draft, needs review, signed, amended."""

from __future__ import annotations

import importlib

import pytest

from notes.models import Note
from notes.services import (
    note_accept_draft,
    note_add_addendum,
    note_apply_draft,
    note_open,
    note_save,
    note_sign,
)
from sessions.models import ClinicalSession
from sessions.services import session_update
from tests.factories import ClinicalSessionFactory, NoteFactory
from tests.notes.factories import draft_content, draft_sections

pytestmark = pytest.mark.django_db


def _state(session: ClinicalSession) -> str:
    return ClinicalSession.objects.get(pk=session.pk).review_state


def test_a_session_without_a_note_has_no_review_state(alice_session):
    assert _state(alice_session) == ""


def test_an_empty_note_is_a_draft(alice_session, alice):
    note_open(session=alice_session, opened_by=alice)

    assert _state(alice_session) == "draft"


def test_a_drafted_note_with_a_flagged_statement_needs_review_until_the_clinician_rewrites_it(alice_session, alice):
    note = note_apply_draft(
        session=alice_session,
        draft=draft_content(unsupported={"plan": "Start sertraline."}),
        draft_ref="job-1",
        model="m",
        prompt_version="v1",
    )
    assert _state(alice_session) == "needs_review"

    note_save(note=note, version=1, texts={"plan": "Drafted plan.\nDiscussed sertraline; no decision."}, author=alice)

    assert _state(alice_session) == "draft"


def test_a_drafted_note_without_flags_is_a_draft(alice_session):
    note_apply_draft(session=alice_session, draft=draft_content(), draft_ref="job-1", model="m", prompt_version="v1")

    assert _state(alice_session) == "draft"


def test_accepting_a_flagged_draft_makes_the_note_need_review(alice_session, alice):
    note = note_open(session=alice_session, opened_by=alice)
    note = note_save(note=note, version=1, texts={"plan": "Mine."}, author=alice)
    note_apply_draft(
        session=alice_session,
        draft=draft_content(unsupported={"plan": "Lives alone."}),
        draft_ref="job-2",
        model="m",
        prompt_version="v1",
    )
    assert _state(alice_session) == "draft"

    note_accept_draft(note=note, version=2, author=alice)

    assert _state(alice_session) == "needs_review"


def test_signing_and_adding_an_addendum_move_the_session_to_signed_then_amended(alice_session, alice):
    note = note_open(session=alice_session, opened_by=alice)

    note_sign(note=note, version=1, signed_by=alice)
    assert _state(alice_session) == "signed"

    note_add_addendum(note=note, text="Late entry.", author=alice)
    assert _state(alice_session) == "amended"


def test_changing_the_sessions_format_forgets_the_former_notes_state_until_the_new_one_opens(alice_session, alice):
    note = note_open(session=alice_session, opened_by=alice)
    note_sign(note=note, version=1, signed_by=alice)

    session_update(
        session=alice_session,
        client_label=alice_session.client_label,
        occurred_at=alice_session.occurred_at,
        note_type="dap",
        consent_method="",
        changed_by=alice,
    )
    assert _state(alice_session) == ""

    note_open(session=ClinicalSession.objects.get(pk=alice_session.pk), opened_by=alice)
    assert _state(alice_session) == "draft"


def test_the_migration_records_the_state_of_the_notes_already_there(practice, alice):
    from django.apps import apps

    migration = importlib.import_module("notes.migrations.0005_sessions_review_state_from_their_notes")
    flagged, plain, signed, other_format = (
        ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap") for _ in range(4)
    )
    NoteFactory(session=flagged, sections=draft_sections(unsupported={"plan": "Lives alone."}))
    NoteFactory(session=plain, sections=draft_sections())
    NoteFactory(session=signed, status=Note.Status.SIGNED)
    NoteFactory(session=other_format, note_type="dap")
    ClinicalSession.objects.update(review_state="")

    migration.record_review_states(apps, None)

    states = dict(ClinicalSession.objects.values_list("pk", "review_state"))
    assert states == {flagged.pk: "needs_review", plain.pk: "draft", signed.pk: "signed", other_format.pk: ""}
