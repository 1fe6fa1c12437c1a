"""Recording in parts through the API: PUT each part, list them, complete, discard; and every bad input."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from sessions.models import ClinicalSession, Recording, RecordingPart
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.media_recorder import live_webm, parts_at_clusters

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_window_start")]


@pytest.fixture(scope="module")
def parts() -> list[bytes]:
    return parts_at_clusters(live_webm())[:6]


@pytest.fixture
def session(alice, practice) -> ClinicalSession:
    return ClinicalSessionFactory(practice=practice, clinician=alice, consent_status="given", consent_method="verbal")


def _url(session, suffix: str = "") -> str:
    return f"/api/v1/sessions/{session.pk}/recording/parts{suffix}"


def _put(client: Client, session, n, data: bytes, **extra):
    return client.put(_url(session, f"/{n}"), data, content_type="audio/webm", **extra)


def _error(response, status: int, code: str):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    return error


# --- tenancy and methods -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("delete", ""), ("put", "/0"), ("post", "/complete")])
def test_parts_endpoints_need_a_key_or_a_login(anonymous_api, session, method, suffix):
    response = getattr(anonymous_api, method)(_url(session, suffix))
    _error(response, 401, "authentication_required")


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("delete", ""), ("put", "/0"), ("post", "/complete")])
def test_another_practices_session_is_not_found(charlie_api, session, parts, method, suffix):
    response = charlie_api.generic(method.upper(), _url(session, suffix), parts[0], content_type="audio/webm")
    _error(response, 404, "not_found")
    assert not RecordingPart.objects.exists()


@pytest.mark.parametrize(
    ("method", "suffix"), [("post", ""), ("put", ""), ("get", "/0"), ("post", "/0"), ("put", "/complete")]
)
def test_parts_endpoints_refuse_the_wrong_method(api, session, method, suffix):
    response = getattr(api, method)(_url(session, suffix))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_clinician_cannot_send_parts_for_a_colleagues_session(bob_client, session, parts):
    response = _put(bob_client, session, 0, parts[0])
    _error(response, 404, "not_found")


# --- parts ---------------------------------------------------------------------------------------


def test_a_part_is_201_the_same_bytes_again_200_and_other_bytes_409(api, session, parts):
    first = _put(api, session, 0, parts[0], HTTP_X_RECORDED_SECONDS="5.02")
    assert first.status_code == 201
    assert first.json() == {
        "n": 0,
        "bytes": len(parts[0]),
        "sha256": hashlib.sha256(parts[0]).hexdigest(),
        "recorded_seconds": 5.02,
    }
    again = _put(api, session, 0, parts[0])
    assert again.status_code == 200
    assert again.json() == first.json()
    other = _put(api, session, 0, parts[1])
    error = _error(other, 409, "conflict")
    assert error["details"]["reason"] == "part_differs"
    assert RecordingPart.objects.get().sha256 == hashlib.sha256(parts[0]).hexdigest()


def test_the_list_shows_the_stored_parts(api, session, parts):
    for n in (1, 0):
        assert _put(api, session, n, parts[n]).status_code == 201
    body = api.get(_url(session)).json()
    assert body["completed"] is False
    assert [part["n"] for part in body["parts"]] == [0, 1]
    assert body["parts"][1] == {
        "n": 1,
        "bytes": len(parts[1]),
        "sha256": hashlib.sha256(parts[1]).hexdigest(),
        "recorded_seconds": None,
    }


@pytest.mark.parametrize("n", ["x", "-1", "1.5", "1e3", "100000", "99999999999999999999", "%C2%B2", " 1"])
def test_a_part_number_that_is_not_a_whole_number_in_range_is_a_400(api, session, parts, n):
    response = api.put(_url(session, f"/{n}"), parts[0], content_type="audio/webm")
    error = _error(response, 400, "validation_error")
    assert "n" in error["details"]["fields"]
    assert not RecordingPart.objects.exists()


def test_an_empty_part_is_a_400(api, session):
    error = _error(_put(api, session, 0, b""), 400, "validation_error")
    assert error["details"]["reason"] == "empty_part"


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e9"])
def test_a_bad_recorded_seconds_header_is_a_400(api, session, parts, value):
    response = _put(api, session, 0, parts[0], HTTP_X_RECORDED_SECONDS=value)
    error = _error(response, 400, "validation_error")
    assert "X-Recorded-Seconds" in error["details"]["fields"]


def test_a_part_over_the_limit_is_a_413_whatever_the_declared_length(api, session, settings):
    settings.RECORDING_PART_MAX_MB = 1
    big = b"\x00" * (1024 * 1024 + 1)
    error = _error(_put(api, session, 0, big), 413, "payload_too_large")
    assert error["details"] == {"reason": "part_too_large", "max_bytes": 1024 * 1024}
    # A client that understates the length is cut off at the limit all the same.
    response = api.generic(
        "PUT", _url(session, "/0"), big, content_type="audio/webm", CONTENT_LENGTH=str(1024 * 1024 + 1)
    )
    _error(response, 413, "payload_too_large")
    assert not RecordingPart.objects.exists()


def test_parts_past_the_upload_limit_are_a_413(api, session, parts, settings):
    settings.MAX_UPLOAD_MB = 1
    for n in range(6):
        response = _put(api, session, n, parts[n] * 6)
        if response.status_code != 201:
            break
    error = _error(response, 413, "payload_too_large")
    assert error["details"]["reason"] == "recording_too_large"


def test_parts_need_the_clients_consent(api, alice, practice, parts):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    error = _error(_put(api, session, 0, parts[0]), 409, "consent_required")
    assert "consent" in error["message"]


# --- completing ----------------------------------------------------------------------------------


def test_complete_assembles_the_parts_into_the_recording_and_refuses_later_parts(api, session, parts):
    for n, data in enumerate(parts):
        assert _put(api, session, n, data).status_code == 201
    response = api.post(_url(session, "/complete"))
    assert response.status_code == 201, response.content
    body = response.json()
    recording = Recording.objects.get(session=session)
    assert body["id"] == str(recording.pk)
    assert body["codec"] == "opus"
    assert body["duration_seconds"] == pytest.approx(30, abs=0.5)
    assert api.get(_url(session)).json() == {"parts": [], "completed": True}
    again = api.post(_url(session, "/complete"))
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    error = _error(_put(api, session, 6, parts[0]), 409, "conflict")
    assert error["details"]["reason"] == "recording_completed"
    assert _put(api, session, 0, parts[0]).status_code == 409
    # The session resource shows the recording; processing is a separate call.
    session_body = api.get(f"/api/v1/sessions/{session.pk}").json()
    assert session_body["recording"]["id"] == body["id"]
    assert session_body["latest_job_id"] is None


def test_complete_repeated_with_an_idempotency_key_replays_the_first_answer(api, session, parts):
    _put(api, session, 0, parts[0])
    first = api.post(_url(session, "/complete"), HTTP_IDEMPOTENCY_KEY="finish-1")
    replay = api.post(_url(session, "/complete"), HTTP_IDEMPOTENCY_KEY="finish-1")
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()


def test_complete_without_parts_is_a_400(api, session):
    error = _error(api.post(_url(session, "/complete")), 400, "validation_error")
    assert error["details"]["reason"] == "no_parts"


def test_complete_with_a_gap_is_a_400_naming_the_missing_parts_and_keeps_them(api, session, parts):
    for n in (0, 1, 2, 4):
        _put(api, session, n, parts[n])
    error = _error(api.post(_url(session, "/complete")), 400, "validation_error")
    assert error["details"] == {"reason": "missing_parts", "missing": [3]}
    assert RecordingPart.objects.count() == 4
    assert not Recording.objects.exists()


def test_complete_with_corrupted_bytes_is_a_4xx_and_loses_nothing(api, session, alice, parts):
    assert (
        api.post(f"/api/v1/sessions/{session.pk}/recording", {"file": (AUDIO / "jfk.flac").open("rb")}).status_code
        == 201
    )
    previous = Recording.objects.get(session=session)
    _put(api, session, 0, b"not a recording at all " * 100)
    _put(api, session, 1, parts[1])
    error = _error(api.post(_url(session, "/complete")), 415, "unsupported_media")
    assert error["details"]["reason"] == "not_audio"
    assert Recording.objects.get(session=session).pk == previous.pk
    assert default_storage.exists(previous.file.name)
    stored = list(RecordingPart.objects.values_list("storage_name", flat=True))
    assert len(stored) == 2
    assert all(default_storage.exists(name) for name in stored)
    # Discarding them lets the clinician record again.
    assert api.delete(_url(session)).status_code == 204
    assert api.get(_url(session)).json() == {"parts": [], "completed": False}


# --- the browser's login session -----------------------------------------------------------------


def test_the_recording_page_sends_parts_with_its_login_and_csrf_token(alice, session, parts):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(f"/sessions/{session.pk}/")
    token = page.cookies["csrftoken"].value
    without = _put(browser, session, 0, parts[0])
    _error(without, 403, "permission_denied")
    with_token = _put(browser, session, 0, parts[0], HTTP_X_CSRFTOKEN=token)
    assert with_token.status_code == 201
    completed = browser.post(_url(session, "/complete"), HTTP_X_CSRFTOKEN=token)
    assert completed.status_code == 201


def test_parts_are_rate_limited_per_caller(api, session, parts, settings):
    settings.API_RATE_RECORDING_PARTS = "2/min"
    assert _put(api, session, 0, parts[0]).status_code == 201
    assert _put(api, session, 1, parts[1]).status_code == 201
    response = _put(api, session, 2, parts[2])
    error = _error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert error["details"]["retry_after_seconds"] >= 1
    assert api.get(_url(session)).status_code == 200


# --- consent -------------------------------------------------------------------------------------


def test_consent_is_recorded_with_the_script_version_shown(api, alice, practice):
    from sessions.consent import consent_script_save

    consent_script_save(practice=practice, text="v1", require_before_processing=False, saved_by=alice)
    consent_script_save(practice=practice, text="v2", require_before_processing=False, saved_by=alice)
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    response = api.post_json(f"/api/v1/sessions/{session.pk}/consent", {"status": "given", "method": "verbal"})
    assert response.status_code == 200
    consent = response.json()["consent"]
    assert consent["status"] == "given"
    assert consent["method"] == "verbal"
    assert consent["script_version"] == 2
    assert consent["recorded_by"] == str(alice.pk)
    assert consent["recorded_at"].endswith("Z")
    earlier = api.post_json(
        f"/api/v1/sessions/{session.pk}/consent", {"status": "given", "method": "written", "script_version": 1}
    )
    assert earlier.json()["consent"]["script_version"] == 1
    cleared = api.post_json(f"/api/v1/sessions/{session.pk}/consent", {"status": "not_recorded"}).json()["consent"]
    assert cleared == {
        "status": "not_recorded",
        "method": None,
        "script_version": None,
        "recorded_by": None,
        "recorded_at": None,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": "maybe"}, "status"),
        ({"status": "given"}, "method"),
        ({"status": "given", "method": "telepathy"}, "method"),
        ({"status": "not_recorded", "method": "verbal"}, "method"),
        ({"status": "given", "method": "verbal", "script_version": 7}, "script_version"),
        ({"status": "given", "method": "verbal", "script_version": "one"}, "script_version"),
    ],
)
def test_invalid_consent_is_a_400_naming_the_field(api, session, body, field):
    response = api.post_json(f"/api/v1/sessions/{session.pk}/consent", body)
    error = _error(response, 400, "validation_error")
    assert field in error["details"]["fields"]
    session.refresh_from_db()
    assert session.consent_status == "given"


def test_a_declined_consent_may_say_how(api, session):
    body = api.post_json(f"/api/v1/sessions/{session.pk}/consent", {"status": "declined", "method": "verbal"}).json()
    assert body["consent"]["status"] == "declined"
    assert body["consent"]["method"] == "verbal"


def test_consent_of_another_practices_session_is_not_found(charlie_api, session):
    response = charlie_api.post_json(f"/api/v1/sessions/{session.pk}/consent", {"status": "declined"})
    _error(response, 404, "not_found")


def test_a_job_start_needs_consent_when_the_practice_requires_it(api, alice, practice):
    from sessions.services import recording_replace

    practice.require_consent_before_processing = True
    practice.save()
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    recording_replace(session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice)
    error = _error(api.post(f"/api/v1/sessions/{session.pk}/jobs"), 409, "consent_required")
    assert "consent" in error["message"]
    api.post_json(f"/api/v1/sessions/{session.pk}/consent", {"status": "given", "method": "electronic"})
    assert api.post(f"/api/v1/sessions/{session.pk}/jobs").status_code == 202


def test_without_the_practice_setting_a_job_starts_without_consent(api, recorded_session):
    assert recorded_session.consent_status == "not_recorded"
    assert api.post(f"/api/v1/sessions/{recorded_session.pk}/jobs").status_code == 202


def test_the_legacy_consent_method_field_still_means_given(api):
    body = api.post_json(
        "/api/v1/sessions",
        {
            "client_label": "J. D.",
            "occurred_at": "2025-02-03T10:15:00Z",
            "note_type": "dap",
            "consent_method": "verbal",
        },
    ).json()
    assert body["consent"]["status"] == "given"
    assert body["consent"]["method"] == "verbal"
