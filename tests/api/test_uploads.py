"""Recording uploads through the API: streamed to a temporary file, validated by decoding, bad audio refused
with the error envelope and the session left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from jobs.models import Job
from sessions.models import Recording
from tests.conftest import AUDIO

pytestmark = pytest.mark.django_db


def _upload(client, session, name: str, **extra):
    with (AUDIO / name).open("rb") as handle:
        return client.post(f"/api/v1/sessions/{session.pk}/recording", {"file": handle}, **extra)


def test_a_good_recording_is_stored_and_described(api, alice_session):
    response = _upload(api, alice_session, "dialogue_short.mp3")
    assert response.status_code == 201
    body = response.json()
    recording = Recording.objects.get(session=alice_session)
    assert body["id"] == str(recording.pk)
    assert body["filename"] == "dialogue_short.mp3"
    assert body["codec"] == "mp3"
    assert body["bytes"] == (AUDIO / "dialogue_short.mp3").stat().st_size
    assert body["duration_seconds"] > 0
    assert set(body) == {"id", "filename", "content_type", "bytes", "sha256", "duration_seconds", "codec", "created_at"}


def test_uploading_does_not_start_processing(api, alice_session):
    assert _upload(api, alice_session, "jfk.flac").status_code == 201
    assert not Job.objects.exists()


def test_a_video_with_an_audio_track_is_accepted(api, alice_session):
    response = _upload(api, alice_session, "telehealth_clip.mp4")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("name", "status", "code", "reason"),
    [
        ("bad_not_audio.webm", 415, "unsupported_media", "not_audio"),
        ("bad_empty.webm", 400, "validation_error", "empty_file"),
        ("bad_truncated.webm", 400, "validation_error", "truncated"),
    ],
)
def test_bad_audio_is_refused_with_its_reason(api, recorded_session, name, status, code, reason):
    before = Recording.objects.get(session=recorded_session)
    response = _upload(api, recorded_session, name)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["details"]["reason"]) == (code, reason)
    assert Recording.objects.get(session=recorded_session) == before


def test_an_upload_over_the_limit_is_refused_while_streaming(api, alice_session, settings):
    settings.MAX_UPLOAD_MB = 1
    response = _upload(api, alice_session, "jfk.flac")  # 1.2 MB
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not Recording.objects.filter(session=alice_session).exists()


def test_a_declared_length_far_over_the_limit_is_refused_before_reading(api, alice_session, settings):
    settings.MAX_UPLOAD_MB = 1
    response = api.post(
        f"/api/v1/sessions/{alice_session.pk}/recording",
        b"x" * 10,
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 413


def test_a_missing_file_field_is_named(api, alice_session):
    response = api.post(f"/api/v1/sessions/{alice_session.pk}/recording", {"other": "x"})
    assert response.status_code == 400
    assert "file" in response.json()["error"]["details"]["fields"]


def test_a_json_body_is_unsupported_media(api, alice_session):
    response = api.post_json(f"/api/v1/sessions/{alice_session.pk}/recording", {"file": "abc"})
    assert response.status_code == 415


def test_the_upload_reaches_the_service_as_a_file_on_disk(api, alice_session, monkeypatch):
    from sessions.services import recording_replace as original

    seen: list[tuple[Path, bool]] = []

    def spy(*, upload_path: Path, **kwargs):
        seen.append((upload_path, upload_path.is_file()))
        return original(upload_path=upload_path, **kwargs)

    monkeypatch.setattr("sessions.api.recording_replace", spy)
    assert _upload(api, alice_session, "jfk.flac").status_code == 201
    [(path, was_file)] = seen
    assert was_file
    assert path.name != "jfk.flac"


def test_a_browser_session_upload_is_limited_while_its_csrf_check_reads_the_body(alice, alice_session, settings):
    settings.MAX_UPLOAD_MB = 1
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/sessions/")
    token = client.cookies["csrftoken"].value
    response = _upload(client, alice_session, "jfk.flac", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 413
    settings.MAX_UPLOAD_MB = 10
    assert _upload(client, alice_session, "jfk.flac", HTTP_X_CSRFTOKEN=token).status_code == 201
