"""Notes through the API: read, edit over a version (409 when stale or signed), sign, add addenda, download."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from notes.content import UNCITED_MESSAGE, Flag, FlagKind, NoteContent, Section, Statement
from notes.models import Addendum, Note, NoteRevision
from notes.services import note_apply_draft
from tests.factories import ClinicalSessionFactory, NoteFactory
from tests.notes.factories import draft_sections

pytestmark = pytest.mark.django_db


@pytest.fixture
def note(alice_session) -> Note:
    return NoteFactory(session=alice_session)


def test_a_note_reads_with_its_sections(api, note):
    body = api.get(f"/api/v1/notes/{note.pk}").json()
    assert (body["id"], body["session_id"], body["status"], body["version"]) == (
        str(note.pk),
        str(note.session_id),
        "draft",
        1,
    )
    assert [section["key"] for section in body["sections"]] == ["subjective", "objective", "assessment", "plan"]
    assert set(body["sections"][0]) == {"key", "heading", "text", "evidence", "flags", "statements"}
    assert body["sections"][0]["statements"] == []
    assert body["signed_by"] is None


def test_editing_saves_a_new_version_recorded_against_the_keys_member(api, note, alice):
    response = api.patch_json(
        f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "Review in 2 weeks."}]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    plan = next(section for section in body["sections"] if section["key"] == "plan")
    assert plan["text"] == "Review in 2 weeks."
    assert "edited" in plan["flags"]
    assert NoteRevision.objects.get(note=note, version=2).author == alice


def test_an_edit_over_a_stale_version_is_a_409_and_writes_nothing(api, note):
    api.patch_json(f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "First."}]})
    response = api.patch_json(
        f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "Second."}]}
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"]["current_version"] == 2
    note.refresh_from_db()
    assert note.section_texts()["plan"] == "First."


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1, "sections": [{"key": "poetry", "text": "x"}]},
        {"version": 1, "sections": [{"key": "plan", "text": "a"}, {"key": "plan", "text": "b"}]},
        {"version": 0, "sections": [{"key": "plan", "text": "x"}]},
        {"sections": [{"key": "plan", "text": "x"}]},
        {"version": 1, "sections": []},
        {"version": 1, "sections": [{"key": "plan", "text": "nul\u0000byte"}]},
    ],
)
def test_invalid_edits_are_a_400(api, note, body):
    response = api.patch_json(f"/api/v1/notes/{note.pk}", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_signing_through_a_key_names_the_sessions_clinician(api, bob, practice):
    note = NoteFactory(session=ClinicalSessionFactory(practice=practice, clinician=bob))
    response = api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1})
    assert response.status_code == 200
    assert response.json()["status"] == "signed"
    assert response.json()["signed_by"] == str(bob.pk)


def test_signing_through_a_key_records_the_key(api, alice_key, note):
    api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1})
    stored = Note.objects.get(pk=note.pk)
    assert stored.signed_via_key == ApiKey.objects.get(prefix=alice_key.split("_")[1])
    assert stored.signer_description() == "Alice Alder (through the API key “EHR sync”)"


def test_signing_in_the_browser_names_the_signed_in_user(alice_client, alice, note):
    response = alice_client.post(f"/api/v1/notes/{note.pk}/sign", {"version": 1}, content_type="application/json")
    assert response.json()["signed_by"] == str(alice.pk)
    assert Note.objects.get(pk=note.pk).signed_via_key is None


# --- addenda ---------------------------------------------------------------------------------------


def _signed(note: Note, api) -> Note:
    assert api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": note.version}).status_code == 200
    return Note.objects.get(pk=note.pk)


def test_an_addendum_to_a_signed_note_is_created_and_listed_with_the_note(api, note, alice):
    _signed(note, api)

    response = api.post_json(f"/api/v1/notes/{note.pk}/addenda", {"text": "Called the client: no change."})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "text", "author", "created_at"}
    assert (body["text"], body["author"]) == ("Called the client: no change.", str(alice.pk))
    assert body["created_at"].endswith("Z")
    stored = Addendum.objects.get(pk=body["id"])
    assert stored.api_key is not None
    assert stored.api_key.name == "EHR sync"
    note_body = api.get(f"/api/v1/notes/{note.pk}").json()
    assert note_body["addenda"] == [body]
    assert (note_body["status"], note_body["version"]) == ("signed", 1)


def test_an_addendum_through_a_key_is_in_the_name_of_the_sessions_clinician(api, bob, practice):
    note = NoteFactory(session=ClinicalSessionFactory(practice=practice, clinician=bob))
    _signed(note, api)

    body = api.post_json(f"/api/v1/notes/{note.pk}/addenda", {"text": "Late entry."}).json()

    assert body["author"] == str(bob.pk)


def test_an_addendum_in_the_browser_is_in_the_name_of_the_signed_in_user(alice_client, alice, api, note):
    _signed(note, api)

    response = alice_client.post(
        f"/api/v1/notes/{note.pk}/addenda", {"text": "From the page."}, content_type="application/json"
    )

    assert response.status_code == 201
    assert response.json()["author"] == str(alice.pk)
    assert Addendum.objects.get().api_key is None


def test_an_addendum_to_an_unsigned_note_is_a_409_conflict(api, note):
    response = api.post_json(f"/api/v1/notes/{note.pk}/addenda", {"text": "Too early."})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["details"]["status"] == "draft"
    assert not Addendum.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "   "}, {"text": "bell\u0007"}, {"text": "x" * 5001}, {"text": None}, {"text": ["a"]}],
)
def test_invalid_addenda_are_a_400(api, note, body):
    _signed(note, api)

    response = api.post_json(f"/api/v1/notes/{note.pk}/addenda", body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "text" in response.json()["error"]["details"]["fields"]
    assert not Addendum.objects.exists()


def test_another_practices_note_takes_no_addendum_through_the_api(charlie_api, api, note):
    _signed(note, api)

    response = charlie_api.post_json(f"/api/v1/notes/{note.pk}/addenda", {"text": "Not mine."})

    assert response.status_code == 404
    assert not Addendum.objects.exists()


def test_addenda_need_authentication_and_refuse_other_methods(anonymous_api, api, note):
    assert anonymous_api.post_json(f"/api/v1/notes/{note.pk}/addenda", {"text": "x"}).status_code == 401
    assert api.get(f"/api/v1/notes/{note.pk}/addenda").status_code == 405


def test_a_repeated_addendum_with_the_same_idempotency_key_is_added_once(api, note):
    _signed(note, api)
    url = f"/api/v1/notes/{note.pk}/addenda"

    first = api.post_json(url, {"text": "Once."}, HTTP_IDEMPOTENCY_KEY="add-1")
    again = api.post_json(url, {"text": "Once."}, HTTP_IDEMPOTENCY_KEY="add-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Addendum.objects.count() == 1


def test_a_signed_note_refuses_edits_and_a_second_signature(api, note):
    api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1})
    edit = api.patch_json(f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "x"}]})
    assert edit.status_code == 409
    assert "signed" in edit.json()["error"]["message"]
    assert api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1}).status_code == 409


def test_signing_a_stale_version_is_a_409(api, note):
    api.patch_json(f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "x"}]})
    assert api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1}).status_code == 409
    assert Note.objects.get(pk=note.pk).status == Note.Status.DRAFT


@pytest.mark.parametrize(
    ("export_format", "content_type"), [("docx", "application/vnd.openxml"), ("txt", "text/plain")]
)
def test_a_note_downloads_with_the_safe_headers(api, note, export_format, content_type):
    response = api.get(f"/api/v1/notes/{note.pk}/export", {"format": export_format}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith(f'.{export_format}"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response.content


def test_the_download_matches_the_note_pages_download(api, alice_client, note):
    from_api = api.get(f"/api/v1/notes/{note.pk}/export", {"format": "txt"})
    from_page = alice_client.get(reverse("notes:export", kwargs={"pk": note.pk}), {"format": "txt"})
    assert from_page.status_code == 200
    assert from_api.content == from_page.content
    for header in ("Content-Disposition", "X-Content-Type-Options", "Cache-Control", "Content-Security-Policy"):
        assert from_api[header] == from_page[header]


def test_an_unknown_download_format_is_a_400(api, note):
    response = api.get(f"/api/v1/notes/{note.pk}/export", {"format": "pdf"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"format": ["Use format=docx or format=txt."]}


def test_a_drafted_note_reads_with_each_statements_evidence_and_flags(api, alice_session):
    dose = Flag(FlagKind.DOSE, "The transcript says 50 mg.", (4,), said="fifty milligrams")
    plan = Section.from_statements(
        key="plan",
        heading="Plan",
        statements=(Statement("Sertraline 100 mg.", (4,), (dose,)), Statement("Lives alone.", (), (Flag.uncited(),))),
    )
    draft = NoteContent(sections=(Section(key="subjective", heading="Subjective", text=""), plan))
    note = note_apply_draft(session=alice_session, draft=draft, draft_ref="job-1", model="m", prompt_version="v1")

    body = api.get(f"/api/v1/notes/{note.pk}").json()

    subjective, plan_out = body["sections"]
    assert set(subjective) == {"key", "heading", "text", "evidence", "flags", "statements"}
    assert subjective["statements"] == []
    assert plan_out["text"] == "Sertraline 100 mg.\nLives alone."
    assert (plan_out["evidence"], plan_out["flags"]) == ([4], ["dose", "unsupported"])
    assert plan_out["statements"] == [
        {
            "text": "Sertraline 100 mg.",
            "evidence": [4],
            "flags": [
                {
                    "kind": "dose",
                    "message": "The transcript says 50 mg.",
                    "evidence": [4],
                    "said": "fifty milligrams",
                    "dismissed": None,
                }
            ],
        },
        {
            "text": "Lives alone.",
            "evidence": [],
            "flags": [
                {"kind": "unsupported", "message": UNCITED_MESSAGE, "evidence": [], "said": "", "dismissed": None}
            ],
        },
    ]


def test_a_note_stored_before_statements_carried_flags_reads_with_them(api, alice_session):
    note = NoteFactory(session=alice_session, sections=draft_sections(unsupported={"assessment": "Lives alone."}))

    body = api.get(f"/api/v1/notes/{note.pk}").json()

    assessment = body["sections"][2]
    assert (assessment["evidence"], assessment["flags"]) == ([3, 5], ["unsupported"])
    assert [statement["flags"] for statement in assessment["statements"]] == [
        [],
        [{"kind": "unsupported", "message": UNCITED_MESSAGE, "evidence": [], "said": "", "dismissed": None}],
    ]


# --- flags to review at signing --------------------------------------------------------------------


def _flagged_note(session) -> Note:
    dose = Flag(
        FlagKind.DOSE, "The note says 100 mg; the transcript says fifty milligrams.", (4,), said="fifty milligrams"
    )
    risk = Flag(FlagKind.OMITTED_RISK, "In the visit, the patient affirmed suicidal ideation.", (7,), said="sometimes")
    content = NoteContent(
        sections=(
            Section.from_statements(
                key="subjective",
                heading="Subjective",
                statements=(Statement("Takes sertraline 100 mg.", (4,), (dose,)), Statement("Sleeps well.", (5,))),
            ),
            Section(key="objective", heading="Objective", text=""),
            Section(key="assessment", heading="Assessment", text=""),
            Section(key="plan", heading="Plan", text=""),
        ),
        flags=(risk,),
    )
    return note_apply_draft(session=session, draft=content, draft_ref="job-1", model="m", prompt_version="v1")


def test_a_note_reads_with_its_own_flags_and_each_flags_words_said(api, alice_session):
    note = _flagged_note(alice_session)

    body = api.get(f"/api/v1/notes/{note.pk}").json()

    assert body["flags"] == [
        {
            "kind": "omitted_risk",
            "message": "In the visit, the patient affirmed suicidal ideation.",
            "evidence": [7],
            "said": "sometimes",
            "dismissed": None,
        }
    ]
    assert body["sections"][0]["statements"][0]["flags"][0]["said"] == "fifty milligrams"


def test_signing_a_note_with_flags_to_review_is_a_409_naming_them(api, alice_session):
    note = _flagged_note(alice_session)

    response = api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "acknowledge_flags" in error["message"]
    assert error["details"]["flags"] == [
        {
            "kind": "dose",
            "message": "The note says 100 mg; the transcript says fifty milligrams.",
            "evidence": [4],
            "said": "fifty milligrams",
            "section": "subjective",
            "statement": 0,
        },
        {
            "kind": "omitted_risk",
            "message": "In the visit, the patient affirmed suicidal ideation.",
            "evidence": [7],
            "said": "sometimes",
            "section": None,
            "statement": None,
        },
    ]
    assert Note.objects.get(pk=note.pk).status == Note.Status.DRAFT


def test_signing_with_the_flags_acknowledged_signs_and_records_the_acknowledgement(api, alice_session, alice):
    note = _flagged_note(alice_session)

    response = api.post_json(f"/api/v1/notes/{note.pk}/sign", {"version": 1, "acknowledge_flags": True})

    assert response.status_code == 200
    assert response.json()["status"] == "signed"
    meta = NoteRevision.objects.get(note=note, version=1).meta
    assert [flag["kind"] for flag in meta["acknowledged_flags"]] == ["dose", "omitted_risk"]
    assert meta["acknowledged_by"] == str(alice.pk)
