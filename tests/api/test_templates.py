"""The note formats API: built-in formats read-only, the practice's own created, changed, retired or deleted;
a format proposed from an example note."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from formats.models import NoteTemplate
from formats.services import format_create
from tests.api.conftest import ApiClient
from tests.factories import ClinicalSessionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

TEMPLATES = "/api/v1/templates"
FROM_EXAMPLE = "/api/v1/templates/from-example"
INTAKE = {
    "key": "intake",
    "name": "Intake assessment",
    "length": "detailed",
    "sections": [
        {"heading": "Presenting problem", "instruction": "Why the client came, in their words."},
        {"key": "next", "heading": "Plan", "instruction": "What happens next."},
    ],
}


def _intake(practice, key="intake"):
    return format_create(practice=practice, key=key, name="Intake", sections=INTAKE["sections"])


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def _signed_in(user) -> ApiClient:
    client = ApiClient()
    client.force_login(user)
    return client


# --- reading ----------------------------------------------------------------------------------


def test_the_list_holds_the_builtin_formats_then_the_practices_own(api, practice):
    _intake(practice)
    results = api.get(TEMPLATES).json()["results"]
    keys = [t["key"] for t in results]
    assert keys == ["soap", "dap", "birp", "girp", "pirp", "medical", "intake"]
    soap = results[0]
    assert soap["builtin"] is True
    assert soap["retired"] is False
    assert soap["length"] == "standard"
    assert soap["sections"][0] == {
        "key": "subjective",
        "heading": "Subjective",
        "instruction": soap["sections"][0]["instruction"],
    }
    assert results[-1]["builtin"] is False


def test_the_list_marks_retired_formats_and_hides_other_practices(api, practice, other_practice):
    retired = _intake(practice)
    retired.retired_at = retired.created_at
    retired.save()
    _intake(other_practice, key="cedar-only")
    results = {t["key"]: t for t in api.get(TEMPLATES).json()["results"]}
    assert results["intake"]["retired"] is True
    assert "cedar-only" not in results


def test_a_format_is_read_by_its_key(api, practice):
    _intake(practice)
    assert api.get(f"{TEMPLATES}/intake").json()["name"] == "Intake"
    assert api.get(f"{TEMPLATES}/medical").json()["builtin"] is True


def test_another_practices_format_and_unknown_keys_are_404(charlie_api, practice):
    _intake(practice)
    assert _error(charlie_api.get(f"{TEMPLATES}/intake"), 404)["code"] == "not_found"
    assert _error(charlie_api.get(f"{TEMPLATES}/nothing-here"), 404)["code"] == "not_found"


def test_the_formats_need_authentication(anonymous_api, revoked_api):
    assert _error(anonymous_api.get(TEMPLATES), 401)["code"] == "authentication_required"
    assert _error(revoked_api.post_json(FROM_EXAMPLE, {"example": "PLAN\nx"}), 401)["code"] == (
        "authentication_required"
    )


def test_a_signed_in_clinician_reads_formats(bob):
    assert _signed_in(bob).get(TEMPLATES).status_code == 200


# --- creating ---------------------------------------------------------------------------------


def test_a_format_is_created_with_derived_section_keys(api, practice):
    response = api.post_json(TEMPLATES, INTAKE)
    assert response.status_code == 201
    body = response.json()
    assert body["key"] == "intake"
    assert body["length"] == "detailed"
    assert [s["key"] for s in body["sections"]] == ["presenting_problem", "next"]
    assert NoteTemplate.objects.get(practice=practice).name == "Intake assessment"


def test_the_length_defaults_to_standard(api):
    body = api.post_json(TEMPLATES, {k: v for k, v in INTAKE.items() if k != "length"}).json()
    assert body["length"] == "standard"


def test_a_repeated_create_with_its_idempotency_key_returns_the_first_answer(api):
    first = api.post_json(TEMPLATES, INTAKE, HTTP_IDEMPOTENCY_KEY="fmt-1")
    again = api.post_json(TEMPLATES, INTAKE, HTTP_IDEMPOTENCY_KEY="fmt-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert NoteTemplate.objects.count() == 1
    other = api.post_json(TEMPLATES, {**INTAKE, "name": "Other"}, HTTP_IDEMPOTENCY_KEY="fmt-1")
    assert _error(other, 422)["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"key": "soap"}, ["key"]),
        ({"key": "from-example"}, ["key"]),
        ({"key": "Not A Slug"}, ["key"]),
        ({"name": ""}, ["name"]),
        ({"name": "Bell\x07"}, ["name"]),
        ({"name": "n" * 101}, ["name"]),
        ({"length": "epic"}, ["length"]),
        ({"sections": []}, ["sections"]),
        ({"sections": [{"heading": "H", "instruction": "I"}] * 31}, ["sections"]),
        ({"sections": "Plan"}, ["sections"]),
        ({"sections": [{"heading": "H\nI", "instruction": "I"}]}, ["sections", "0", "heading"]),
        ({"sections": [{"heading": "H", "instruction": "  "}]}, ["sections", "0", "instruction"]),
        ({"sections": [{"heading": "H", "instruction": "I" * 501}]}, ["sections", "0", "instruction"]),
        ({"sections": [{"key": "Bad!", "heading": "H", "instruction": "I"}]}, ["sections", "0", "key"]),
        (
            {
                "sections": [
                    {"key": "a", "heading": "H", "instruction": "I"},
                    {"key": "a", "heading": "G", "instruction": "I"},
                ]
            },
            ["sections", "1", "key"],
        ),
        ({"sections": [None]}, ["sections", "0"]),
    ],
)
def test_every_bad_input_is_a_400_naming_its_field(api, change, path):
    error = _error(api.post_json(TEMPLATES, {**INTAKE, **change}), 400)
    assert error["code"] == "validation_error"
    node = error["details"]["fields"]
    for part in path:
        node = node[part]
    assert node
    assert not NoteTemplate.objects.exists()


@pytest.mark.parametrize("body", [[], "intake", 7, None, {"sections": {"a": 1}}])
def test_bodies_of_the_wrong_shape_are_400s(api, body):
    response = api.post(TEMPLATES, body, content_type="application/json")
    assert _error(response, 400)["code"] == "validation_error"


def test_a_taken_key_is_a_400(api, practice):
    _intake(practice)
    error = _error(api.post_json(TEMPLATES, INTAKE), 400)
    assert "already has" in error["details"]["fields"]["key"][0]


def test_a_signed_in_owner_creates_but_a_clinician_may_not(alice, bob):
    assert _signed_in(alice).post_json(TEMPLATES, INTAKE).status_code == 201
    error = _error(_signed_in(bob).post_json(TEMPLATES, {**INTAKE, "key": "other"}), 403)
    assert error["code"] == "permission_denied"


def test_a_signed_in_admin_may_create(practice):
    admin = UserFactory()
    MembershipFactory(user=admin, practice=practice, role=Membership.Role.ADMIN)
    assert _signed_in(admin).post_json(TEMPLATES, INTAKE).status_code == 201


# --- changing ---------------------------------------------------------------------------------


def test_a_patch_changes_only_what_is_sent(api, practice):
    _intake(practice)
    body = api.patch_json(f"{TEMPLATES}/intake", {"name": "Intake v2"}).json()
    assert body["name"] == "Intake v2"
    assert [s["key"] for s in body["sections"]] == ["presenting_problem", "next"]
    body = api.patch_json(f"{TEMPLATES}/intake", {"sections": [{"heading": "Risk", "instruction": "Risk."}]}).json()
    assert [s["key"] for s in body["sections"]] == ["risk"]
    assert body["name"] == "Intake v2"


def test_a_patch_may_repeat_the_key_but_never_change_it(api, practice):
    _intake(practice)
    assert api.patch_json(f"{TEMPLATES}/intake", {"key": "intake", "length": "brief"}).json()["length"] == "brief"
    error = _error(api.patch_json(f"{TEMPLATES}/intake", {"key": "renamed"}), 400)
    assert "key" in error["details"]["fields"]


def test_a_patch_retires_and_restores(api, practice):
    _intake(practice)
    assert api.patch_json(f"{TEMPLATES}/intake", {"retired": True}).json()["retired"] is True
    assert api.patch_json(f"{TEMPLATES}/intake", {"retired": False}).json()["retired"] is False


def test_an_invalid_patch_is_a_400_and_changes_nothing(api, practice):
    _intake(practice)
    error = _error(api.patch_json(f"{TEMPLATES}/intake", {"sections": [{"heading": "", "instruction": "x"}]}), 400)
    assert "heading" in error["details"]["fields"]["sections"]["0"]
    assert NoteTemplate.objects.get().sections[0]["heading"] == "Presenting problem"


@pytest.mark.parametrize("method", ["patch_json", "delete"])
def test_builtin_formats_are_read_only(api, method):
    args = ({"name": "Mine"},) if method == "patch_json" else ()
    error = _error(getattr(api, method)(f"{TEMPLATES}/soap", *args), 403)
    assert error["code"] == "permission_denied"
    assert error["details"]["reason"] == "builtin_read_only"


@pytest.mark.parametrize("method", ["patch_json", "delete"])
def test_another_practices_format_cannot_be_changed(charlie_api, practice, method):
    _intake(practice)
    args = ({"name": "Mine"},) if method == "patch_json" else ()
    assert _error(getattr(charlie_api, method)(f"{TEMPLATES}/intake", *args), 404)["code"] == "not_found"
    assert NoteTemplate.objects.get().name == "Intake"


@pytest.mark.parametrize("method", ["patch_json", "delete"])
def test_a_signed_in_clinician_cannot_change_a_format(bob, practice, method):
    _intake(practice)
    args = ({"name": "Mine"},) if method == "patch_json" else ()
    assert _error(getattr(_signed_in(bob), method)(f"{TEMPLATES}/intake", *args), 403)["code"] == "permission_denied"


# --- deleting ---------------------------------------------------------------------------------


def test_deleting_an_unused_format_deletes_it(api, practice):
    _intake(practice)
    response = api.delete(f"{TEMPLATES}/intake")
    assert response.status_code == 204
    assert not NoteTemplate.objects.exists()


def test_deleting_a_format_in_use_retires_it_and_new_sessions_cannot_use_it(api, practice, alice):
    _intake(practice)
    ClinicalSessionFactory(practice=practice, clinician=alice, note_type="intake")
    response = api.delete(f"{TEMPLATES}/intake")
    assert response.status_code == 200
    assert response.json()["retired"] is True
    assert api.get(f"{TEMPLATES}/intake").json()["retired"] is True
    session = {"client_label": "AB", "occurred_at": "2025-05-01T10:00:00Z", "note_type": "intake"}
    error = _error(api.post_json("/api/v1/sessions", session), 400)
    assert "note_type" in error["details"]["fields"]


def test_a_session_already_in_a_retired_format_keeps_it_through_a_patch(api, practice, alice):
    _intake(practice)
    session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="intake")
    api.delete(f"{TEMPLATES}/intake")
    response = api.patch_json(f"/api/v1/sessions/{session.pk}", {"note_type": "intake", "client_label": "AB"})
    assert response.status_code == 200


# --- from an example --------------------------------------------------------------------------


def test_an_example_note_gives_a_proposed_format_that_is_not_saved(api):
    response = api.post_json(FROM_EXAMPLE, {"example": "SUBJECTIVE\nFeels better.\n\n**Plan**\nReview in May."})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert [(s["key"], s["heading"]) for s in body["sections"]] == [("subjective", "Subjective"), ("plan", "Plan")]
    assert body["sections"][1]["instruction"] == "Like: Review in May."
    assert body["builtin"] is False
    assert not NoteTemplate.objects.exists()


def test_a_proposal_can_be_created_as_it_is(api):
    proposal = api.post_json(FROM_EXAMPLE, {"example": "SUBJECTIVE\nFeels better.\nPLAN\nReview."}).json()
    create = {k: proposal[k] for k in ("name", "length", "sections")} | {"key": "ours"}
    assert api.post_json(TEMPLATES, create).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"example": ""},
        {"example": 5},
        {"example": "no headings."},
        {"example": "PLAN\n\x01"},
        {"example": "x" * 30_000},
    ],
)
def test_an_unusable_example_is_a_400_naming_it(api, body):
    error = _error(api.post_json(FROM_EXAMPLE, body), 400)
    assert "example" in error["details"]["fields"]


def test_a_clinician_may_ask_for_a_proposal(bob):
    assert _signed_in(bob).post_json(FROM_EXAMPLE, {"example": "PLAN\nReview."}).status_code == 200


# --- methods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", TEMPLATES),
        ("delete", TEMPLATES),
        ("get", FROM_EXAMPLE),
        ("post", f"{TEMPLATES}/soap"),
        ("options", TEMPLATES),
    ],
)
def test_undocumented_methods_are_405_envelopes(api, method, path):
    assert _error(getattr(api, method)(path), 405)["code"] == "method_not_allowed"
