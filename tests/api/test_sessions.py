"""Sessions through the API: create, list with filters and cursor pages, change, delete."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions.models import ClinicalSession
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db

BODY = {"client_label": "J. D.", "occurred_at": "2025-02-03T10:15:00Z", "note_type": "dap", "consent_method": "verbal"}


def test_creating_a_session_answers_201_with_the_resource(api, alice):
    response = api.post_json("/api/v1/sessions", BODY)
    assert response.status_code == 201
    body = response.json()
    session = ClinicalSession.objects.get(pk=body["id"])
    assert session.clinician == alice
    assert body["client_label"] == "J. D."
    assert body["occurred_at"] == "2025-02-03T10:15:00Z"
    assert body["note_type"] == "dap"
    assert body["status"] == "awaiting_recording"
    assert body["consent"]["method"] == "verbal"
    assert body["consent"]["recorded_at"] is not None
    assert body["recording"] is None
    assert body["latest_job_id"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"client_label": ""}, "client_label"),
        ({"client_label": "x" * 81}, "client_label"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"note_type": "poem"}, "note_type"),
        ({"consent_method": "telepathy"}, "consent_method"),
        ({"clinician_id": "00000000-0000-0000-0000-000000000000"}, "clinician_id"),
    ],
)
def test_invalid_fields_are_named_in_the_error(api, change, field):
    response = api.post_json("/api/v1/sessions", {**BODY, **change})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]["fields"]
    assert not ClinicalSession.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.post("/api/v1/sessions", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_a_form_encoded_body_is_unsupported_media(api):
    response = api.post("/api/v1/sessions", BODY)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media"


def test_a_key_may_create_a_session_for_another_clinician_of_the_practice(api, bob):
    response = api.post_json("/api/v1/sessions", {**BODY, "clinician_id": str(bob.pk)})
    assert response.status_code == 201
    assert response.json()["clinician_id"] == str(bob.pk)


def test_a_signed_in_clinician_may_not_create_sessions_for_others(bob_client, alice):
    response = bob_client.post(
        "/api/v1/sessions", {**BODY, "clinician_id": str(alice.pk)}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "clinician_id" in response.json()["error"]["details"]["fields"]


def test_a_key_may_not_name_a_clinician_of_another_practice(api, charlie):
    response = api.post_json("/api/v1/sessions", {**BODY, "clinician_id": str(charlie.pk)})
    assert response.status_code == 400


def test_the_list_filters_by_status_and_date(api, alice, practice):
    now = timezone.now()
    old = ClinicalSessionFactory(practice=practice, clinician=alice, occurred_at=now - dt.timedelta(days=40))
    new = ClinicalSessionFactory(practice=practice, clinician=alice, occurred_at=now - dt.timedelta(days=1))
    ClinicalSession.objects.filter(pk=new.pk).update(status=ClinicalSession.Status.READY)

    def ids(query):
        response = api.get("/api/v1/sessions", query)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids({"status": "ready"}) == [str(new.pk)]
    assert ids({"occurred_before": (now - dt.timedelta(days=10)).isoformat()}) == [str(old.pk)]
    assert ids({"occurred_after": (now - dt.timedelta(days=10)).date().isoformat()}) == [str(new.pk)]
    assert ids({}) == [str(new.pk), str(old.pk)]


@pytest.mark.parametrize("query", [{"status": "sleeping"}, {"occurred_after": "soon"}, {"cursor": "bogus"}])
def test_bad_list_parameters_are_a_400(api, query):
    response = api.get("/api/v1/sessions", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_cursor_pages_walk_every_session_once(api, alice, practice):
    created = {str(ClinicalSessionFactory(practice=practice, clinician=alice).pk) for _ in range(5)}
    seen: list[str] = []
    url = "/api/v1/sessions?page_size=2"
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 2
        seen.extend(row["id"] for row in body["results"])
        url = body["next"]
    assert sorted(seen) == sorted(created)


def test_the_list_takes_the_same_queries_for_many_sessions(api, alice, practice):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/sessions").status_code == 200
        return len(queries)

    ClinicalSessionFactory(practice=practice, clinician=alice)
    count()  # the key's first use is recorded once
    few = count()
    for _ in range(10):
        ClinicalSessionFactory(practice=practice, clinician=alice)
    assert count() == few


def test_patch_changes_only_the_given_fields(api, alice_session):
    response = api.patch_json(f"/api/v1/sessions/{alice_session.pk}", {"client_label": "Z. Z.", "note_type": "birp"})
    assert response.status_code == 200
    alice_session.refresh_from_db()
    assert (alice_session.client_label, alice_session.note_type) == ("Z. Z.", "birp")
    assert response.json()["occurred_at"].startswith(alice_session.occurred_at.strftime("%Y-%m-%dT%H:%M"))


def test_patch_validates_like_create(api, alice_session):
    response = api.patch_json(f"/api/v1/sessions/{alice_session.pk}", {"note_type": "poem"})
    assert response.status_code == 400


def test_delete_removes_the_session_with_its_recording_file(api, recorded_session, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    name = recorded_session.recording.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/sessions/{recorded_session.pk}")
    assert response.status_code == 204
    assert not ClinicalSession.objects.filter(pk=recorded_session.pk).exists()
    assert not default_storage.exists(name)


def test_the_session_names_its_latest_job(api, succeeded_job):
    body = api.get(f"/api/v1/sessions/{succeeded_job.session_id}").json()
    assert body["latest_job_id"] == str(succeeded_job.pk)
    assert body["status"] == "ready"
    assert body["recording"]["filename"] == "jfk.flac"
    assert body["recording"]["duration_seconds"] == pytest.approx(11.0, abs=0.5)


def test_the_transcript_has_segments_and_text(api, succeeded_job):
    body = api.get(f"/api/v1/sessions/{succeeded_job.session_id}/transcript").json()
    assert set(body) == {"id", "language", "model", "text", "segments"}
    assert body["segments"]
    assert set(body["segments"][0]) == {"id", "start", "end", "speaker", "text"}


def test_a_session_without_a_transcript_answers_404(api, alice_session):
    response = api.get(f"/api/v1/sessions/{alice_session.pk}/transcript")
    assert response.status_code == 404


def test_a_sessions_status_says_where_its_note_stands(api, alice, practice):
    now = timezone.now()
    drafted, signed, amended, flagged = (
        ClinicalSessionFactory(practice=practice, clinician=alice, occurred_at=now - dt.timedelta(hours=hours))
        for hours in (1, 2, 3, 4)
    )
    ClinicalSession.objects.filter(pk__in=[s.pk for s in (drafted, signed, amended, flagged)]).update(
        status=ClinicalSession.Status.READY
    )
    for session, state in (
        (drafted, ClinicalSession.ReviewState.DRAFT),
        (signed, ClinicalSession.ReviewState.SIGNED),
        (amended, ClinicalSession.ReviewState.AMENDED),
        (flagged, ClinicalSession.ReviewState.NEEDS_REVIEW),
    ):
        ClinicalSession.objects.filter(pk=session.pk).update(review_state=state)

    def status_of(session):
        return api.get(f"/api/v1/sessions/{session.pk}").json()["status"]

    assert [status_of(s) for s in (drafted, signed, amended, flagged)] == ["ready", "signed", "amended", "needs_review"]
    listed = api.get("/api/v1/sessions", {"status": "signed"}).json()["results"]
    assert [row["id"] for row in listed] == [str(signed.pk)]
