"""The faithfulness checker wired into notes: a drafted note checked against its transcript, a clinician's edits
checked again on save, the one-click fix, dismissing a flag with a reason, and signing with flags to review."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from notes.checking import check_draft, check_edits
from notes.content import Dismissal, Flag, FlagKind, FlagPlace, NoteContent, Section, Statement
from notes.models import Note, NoteRevision
from notes.services import (
    FlagUnavailable,
    NoteConflict,
    NoteFlagsUnresolved,
    note_apply_draft,
    note_dismiss_flag,
    note_fix_flag,
    note_save,
    note_sign,
)
from sessions.models import ClinicalSession
from sessions.transcripts import transcript_save

pytestmark = pytest.mark.django_db

VISIT: list[dict[str, Any]] = [
    {"id": 0, "start": 0.0, "end": 3.0, "speaker": "doctor", "text": "What are you taking for the knee pain?"},
    {"id": 1, "start": 3.0, "end": 6.0, "speaker": "patient", "text": "I take meloxicam 15 mg once a day."},
    {"id": 2, "start": 6.0, "end": 8.0, "speaker": "doctor", "text": "Any fever or chills?"},
    {"id": 3, "start": 8.0, "end": 10.0, "speaker": "patient", "text": "No, I haven't had any fevers."},
    {"id": 4, "start": 10.0, "end": 11.0, "speaker": "doctor", "text": "Which knee is it?"},
    {"id": 5, "start": 11.0, "end": 12.0, "speaker": "patient", "text": "My right knee."},
    {"id": 6, "start": 12.0, "end": 15.0, "speaker": "patient", "text": "Sometimes I think about killing myself."},
]
MEDICATION = FlagPlace("subjective", 0, 0)
NEGATION = FlagPlace("subjective", 1, 0)
OMITTED_RISK = FlagPlace("", None, 0)


def _drafted() -> NoteContent:
    return NoteContent(
        sections=(
            Section.from_statements(
                key="subjective",
                heading="Subjective",
                statements=(
                    Statement("Takes ibuprofen 600 mg once a day.", (1,)),
                    Statement("Reports fevers.", (3,)),
                    Statement("Left knee pain.", (5,)),
                ),
            ),
            Section.from_statements(
                key="objective", heading="Objective", statements=(Statement("Lives alone.", (), (Flag.uncited(),)),)
            ),
            Section(key="assessment", heading="Assessment", text=""),
            Section(key="plan", heading="Plan", text=""),
        )
    )


@pytest.fixture
def checked(alice_session: ClinicalSession) -> Note:
    """Alice's session with its transcript and a drafted note as the pipeline stores it: checked."""
    transcript_save(
        session=alice_session, media_sha256="0" * 64, model="m", language="en", segments=VISIT, provider_metadata={}
    )
    return note_apply_draft(
        session=alice_session,
        draft=check_draft(_drafted(), VISIT).content,
        draft_ref="job-1",
        model="m",
        prompt_version="v1",
    )


def _kinds(note: Note, section: str = "subjective") -> list[list[str]]:
    content = Note.objects.get(pk=note.pk).content
    found = next(s for s in content.sections if s.key == section)
    return [[flag.kind.value for flag in statement.flags] for statement in found.statements]


# --- the draft -------------------------------------------------------------------------------------


def test_a_drafted_note_is_flagged_where_the_transcript_says_otherwise(checked):
    assert _kinds(checked) == [["medication"], ["negation"], ["laterality"]]
    medication = checked.content.flag_at(MEDICATION)
    assert medication is not None
    assert (medication.said, medication.written, medication.evidence) == ("meloxicam 15 mg", "ibuprofen 600 mg", (1,))
    # The risk the patient said and the note leaves out is the note's own flag.
    assert [flag.kind for flag in checked.content.flags] == [FlagKind.OMITTED_RISK]
    assert checked.content.flags[0].evidence == (6,)
    assert Note.objects.get(pk=checked.pk).flag_counts == {
        "medication": 1,
        "negation": 1,
        "laterality": 1,
        "unsupported": 1,
        "omitted_risk": 1,
    }


def test_an_uncited_statement_the_checker_finds_unsupported_keeps_one_unsupported_flag():
    content = NoteContent(
        sections=(
            Section.from_statements(
                key="subjective",
                heading="Subjective",
                statements=(Statement("The patient also reports blurred vision.", (), (Flag.uncited(),)),),
            ),
        )
    )

    flags = check_draft(content, VISIT).content.sections[0].statements[0].flags

    assert [flag.kind for flag in flags] == [FlagKind.UNSUPPORTED]
    assert "blurred vision" in flags[0].message


# --- a clinician's edits ---------------------------------------------------------------------------


def test_saving_checks_what_the_clinician_wrote_against_the_whole_transcript(checked, alice):
    text = "Takes ibuprofen 600 mg once a day.\nReports fevers.\nTakes meloxicam 30 mg daily.\nLungs clear."

    saved = note_save(note=checked, version=1, texts={"subjective": text}, author=alice)

    # Untouched drafted statements keep their flags; the clinician's own are checked for what the visit
    # contradicts (a dose), not for what it leaves unsaid (an exam finding they saw).
    assert _kinds(saved) == [["medication"], ["negation"], ["edited", "dose"], ["edited"]]
    dose = saved.content.sections[0].statements[2].flags[1]
    assert dose.said == "15 mg"


def test_the_note_flag_goes_once_the_note_mentions_the_risk(checked, alice):
    saved = note_save(
        note=checked, version=1, texts={"assessment": "Passive suicidal ideation; safety plan made."}, author=alice
    )

    assert saved.content.flags == ()
    assert "omitted_risk" not in Note.objects.get(pk=checked.pk).flag_counts


def test_a_dismissed_flag_stays_dismissed_when_the_note_is_checked_again():
    dismissal = Dismissal(reason="Discussed; not current.", by="u1", by_name="Alice Alder", at="2026-01-01T00:00:00")
    content = check_draft(_drafted(), VISIT).content
    risk = content.flags[0]
    content = content.with_flag(
        OMITTED_RISK, Flag(risk.kind, risk.message, risk.evidence, risk.said, dismissal=dismissal)
    )

    again = check_edits(content, VISIT)

    assert again.content.flags[0].dismissal == dismissal
    assert "omitted_risk" not in again.raised


# --- one-click fix ---------------------------------------------------------------------------------


def test_the_fix_puts_the_transcripts_words_in_and_saves_a_version(checked, alice):
    fixed = note_fix_flag(note=checked, version=1, place=MEDICATION, author=alice)

    assert fixed.version == 2
    statement = fixed.content.sections[0].statements[0]
    assert statement.text == "Takes meloxicam 15 mg once a day."
    assert [flag.kind.value for flag in statement.flags] == ["edited"]
    assert statement.evidence == (1,)
    assert fixed.content.sections[0].text.startswith("Takes meloxicam 15 mg once a day.\nReports fevers.")
    revision = NoteRevision.objects.get(note=checked, version=2)
    assert (revision.source, revision.author, revision.meta) == (
        NoteRevision.Source.CLINICIAN,
        alice,
        {"flag_fixed": "medication"},
    )


def test_a_fix_over_a_version_that_moved_on_is_refused(checked, alice, bob):
    note_save(note=checked, version=1, texts={"plan": "Review in clinic."}, author=bob)

    with pytest.raises(NoteConflict):
        note_fix_flag(note=Note.objects.get(pk=checked.pk), version=1, place=MEDICATION, author=alice)
    assert "ibuprofen 600 mg" in Note.objects.get(pk=checked.pk).section_texts()["subjective"]


def test_a_flag_with_nothing_specific_said_has_no_fix(checked, alice):
    with pytest.raises(FlagUnavailable):
        note_fix_flag(note=checked, version=1, place=NEGATION, author=alice)
    assert Note.objects.get(pk=checked.pk).version == 1


# --- dismissing ------------------------------------------------------------------------------------


def test_a_dismissed_flag_records_who_why_and_when_and_no_longer_counts(checked, alice):
    dismissed = note_dismiss_flag(
        note=checked, version=1, place=NEGATION, reason="  Fever last month, not now. ", author=alice
    )

    flag = dismissed.content.flag_at(NEGATION)
    assert flag is not None
    assert flag.dismissal is not None
    assert (flag.dismissal.reason, flag.dismissal.by, flag.dismissal.by_name) == (
        "Fever last month, not now.",
        str(alice.pk),
        "Alice Alder",
    )
    assert dismissed.version == 2
    assert "negation" not in Note.objects.get(pk=checked.pk).flag_counts
    assert flag not in dismissed.content.unresolved_flags
    assert NoteRevision.objects.get(note=checked, version=2).meta == {"flag_dismissed": "negation"}


def test_a_dismissal_needs_a_reason(checked, alice):
    with pytest.raises(ValueError, match="why"):
        note_dismiss_flag(note=checked, version=1, place=NEGATION, reason="   ", author=alice)


# --- signing ---------------------------------------------------------------------------------------


def test_signing_with_flags_to_review_needs_them_acknowledged_and_records_it(checked, alice):
    with pytest.raises(NoteFlagsUnresolved) as refused:
        note_sign(note=checked, version=1, signed_by=alice)
    assert sorted(flag.kind.value for _place, flag in refused.value.flags) == [
        "laterality",
        "medication",
        "negation",
        "omitted_risk",
        "unsupported",
    ]
    assert not Note.objects.get(pk=checked.pk).is_signed

    signed = note_sign(note=checked, version=1, signed_by=alice, acknowledge_flags=True)

    assert signed.is_signed
    meta = NoteRevision.objects.get(note=checked, version=1).meta
    assert meta["acknowledged_by"] == str(alice.pk)
    assert {"kind": "medication", "section": "subjective", "statement": 0} in meta["acknowledged_flags"]
    assert {"kind": "omitted_risk", "section": "", "statement": None} in meta["acknowledged_flags"]
    assert "ibuprofen" not in str(meta)  # kinds and places, never the note's words


def test_a_note_whose_flags_are_all_dismissed_signs_without_an_acknowledgement(checked, alice):
    note = checked
    for place in sorted(
        (place for place, flag in note.content.flags_with_places() if flag.needs_review),
        key=lambda p: (p.section, p.statement or 0, p.position),
    ):
        note = note_dismiss_flag(note=note, version=note.version, place=place, reason="Checked.", author=alice)

    signed = note_sign(note=note, version=note.version, signed_by=alice)

    assert signed.is_signed
    assert "acknowledged_flags" not in NoteRevision.objects.get(note=checked, version=note.version).meta


# --- the pages -------------------------------------------------------------------------------------


def _detail(client: Any, session_id: Any) -> str:
    response = client.get(reverse("clinical_sessions:detail", kwargs={"pk": session_id}))
    assert response.status_code == 200
    return str(response.content.decode())


def _flag_post(note: Note, place: FlagPlace, **extra: str) -> dict[str, str]:
    return {
        "version": str(note.version),
        "section": place.section,
        "statement": "" if place.statement is None else str(place.statement),
        "position": str(place.position),
        "return_to": "session",
        **extra,
    }


def test_the_session_page_shows_each_flag_with_the_words_said_and_what_can_be_done(alice_client, checked):
    html = _detail(alice_client, checked.session_id)

    assert "The note says ibuprofen 600 mg; the transcript says meloxicam 15 mg." in html
    assert "Said: “meloxicam 15 mg”" in html
    assert "Replace with “meloxicam 15 mg”" in html
    assert "Replace with “Right knee”" in html
    assert 'action="' + reverse("notes:fix_flag", kwargs={"pk": checked.pk}) + '"' in html
    assert "Dismiss this flag" in html
    assert "About the whole note" in html
    assert "the patient affirmed suicidal ideation" in html
    assert "I have reviewed the 4 flagged statements and the flag about the whole note" in html


def test_the_fix_button_fixes_the_statement_and_returns_to_the_session_page(alice_client, checked):
    response = alice_client.post(reverse("notes:fix_flag", kwargs={"pk": checked.pk}), _flag_post(checked, MEDICATION))

    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{checked.session_id}/#note"
    assert Note.objects.get(pk=checked.pk).section_texts()["subjective"].startswith("Takes meloxicam 15 mg")


def test_a_dismissed_flag_shows_muted_with_its_reason(alice_client, checked):
    response = alice_client.post(
        reverse("notes:dismiss_flag", kwargs={"pk": checked.pk}),
        _flag_post(checked, NEGATION, reason="Fever last month, not now."),
    )
    assert response.status_code == 302

    html = _detail(alice_client, checked.session_id)
    assert "Negation (dismissed):" in html
    assert "Dismissed by Alice Alder" in html
    assert "“Fever last month, not now.”" in html
    assert "I have reviewed the 3 flagged statements and the flag about the whole note" in html


def test_a_dismissal_without_a_reason_is_refused_on_the_page(alice_client, checked):
    response = alice_client.post(
        reverse("notes:dismiss_flag", kwargs={"pk": checked.pk}), _flag_post(checked, NEGATION, reason="")
    )

    assert response.status_code == 400
    assert Note.objects.get(pk=checked.pk).version == 1


def test_a_stale_fix_on_the_page_is_a_conflict_and_changes_nothing(alice_client, checked, bob):
    read = _flag_post(checked, MEDICATION)  # what Alice's page holds: version 1
    note_save(note=checked, version=1, texts={"plan": "Review in clinic."}, author=bob)

    response = alice_client.post(reverse("notes:fix_flag", kwargs={"pk": checked.pk}), read)

    assert response.status_code == 409
    assert "the note changed (now version 2)" in response.content.decode()


def test_signing_on_the_page_without_acknowledging_the_flags_is_refused(alice_client, checked):
    url = reverse("notes:sign", kwargs={"pk": checked.pk})

    refused = alice_client.post(url, {"version": "1", "reviewed": "on", "return_to": "session"})

    assert refused.status_code == 400
    assert "Tick “I have reviewed the 4 flagged statements and the flag about the whole note” to sign" in (
        refused.content.decode()
    )
    assert not Note.objects.get(pk=checked.pk).is_signed

    signed = alice_client.post(
        url, {"version": "1", "reviewed": "on", "acknowledge_flags": "on", "return_to": "session"}
    )
    assert signed.status_code == 302
    assert Note.objects.get(pk=checked.pk).is_signed


@pytest.mark.parametrize("name", ["notes:fix_flag", "notes:dismiss_flag"])
def test_flag_actions_need_login(client, checked, name):
    response = client.post(reverse(name, kwargs={"pk": checked.pk}), _flag_post(checked, MEDICATION, reason="x"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert Note.objects.get(pk=checked.pk).version == 1


@pytest.mark.parametrize("name", ["notes:fix_flag", "notes:dismiss_flag"])
def test_flag_actions_on_another_practices_note_are_404(charlie_client, checked, name):
    response = charlie_client.post(
        reverse(name, kwargs={"pk": checked.pk}), _flag_post(checked, MEDICATION, reason="x")
    )

    assert response.status_code == 404
    assert Note.objects.get(pk=checked.pk).version == 1


@pytest.mark.parametrize("name", ["notes:fix_flag", "notes:dismiss_flag"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_flag_actions_refuse_other_methods(alice_client, checked, name, method):
    response = getattr(alice_client, method)(reverse(name, kwargs={"pk": checked.pk}))

    assert response.status_code == 405


def test_the_history_says_what_was_done_to_flags(alice_client, checked, alice: User):
    note_fix_flag(note=checked, version=1, place=MEDICATION, author=alice)

    html = alice_client.get(reverse("notes:revisions", kwargs={"pk": checked.pk})).content.decode()

    assert "a medication flag fixed from the transcript" in html


def test_staff_see_how_many_flags_of_each_kind_a_note_has_and_none_of_its_words(checked):
    staff = User.objects.create_user(email="support@sessionscribe.test", password="x", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)

    changelist = client.get(reverse("admin:notes_note_changelist")).content.decode()
    change = client.get(reverse("admin:notes_note_change", args=[checked.pk])).content.decode()

    for html in (changelist, change):
        assert "laterality 1, medication 1, negation 1, omitted_risk 1, unsupported 1" in html
        assert "ibuprofen" not in html
        assert "meloxicam" not in html


def test_the_migration_counts_the_flags_of_the_notes_already_there(alice_session, bob_session):
    import importlib

    from django.apps import apps

    from tests.factories import NoteFactory
    from tests.notes.factories import draft_sections

    migration = importlib.import_module("notes.migrations.0010_flag_counts_of_existing_notes")
    older = NoteFactory(session=alice_session, sections=draft_sections(unsupported={"plan": "Lives alone."}))
    plain = NoteFactory(session=bob_session, sections=draft_sections())
    Note.objects.update(flag_counts={})

    migration.count_flags(apps, None)

    assert Note.objects.get(pk=older.pk).flag_counts == {"unsupported": 1}
    assert Note.objects.get(pk=plain.pk).flag_counts == {}
