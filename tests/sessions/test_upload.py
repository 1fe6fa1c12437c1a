from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from jobs.audio.split import audio_bytes_per_second
from sessions.models import ClinicalSession, Recording
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(alice) -> ClinicalSession:
    return ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)


def _upload(client: Client, session: ClinicalSession, name: str, *, content: bytes | None = None, json: bool = False):
    data = content if content is not None else (AUDIO / name).read_bytes()
    headers = {"Accept": "application/json"} if json else {}
    return client.post(
        reverse("clinical_sessions:upload", kwargs={"pk": session.pk}),
        {"file": SimpleUploadedFile(name, data, content_type="application/octet-stream")},
        headers=headers,
    )


@pytest.mark.parametrize(
    ("name", "codec", "seconds"),
    [
        ("dialogue_short.webm", "opus", 132),
        ("dialogue_short.mp3", "mp3", 132),
        ("dialogue_short.m4a", "aac", 132),
        ("jfk.flac", "flac", 11),
        ("telehealth_clip.mp4", "aac", 11),
    ],
)
def test_uploaded_recording_is_validated_stored_and_described(alice_client, session, name, codec, seconds):
    response = _upload(alice_client, session, name)
    assert response.status_code == 302
    recording = Recording.objects.get(session=session)
    assert recording.codec == codec
    assert recording.duration_seconds == pytest.approx(seconds, abs=0.5)
    # What the pipeline plans its chunks by, measured while the probe read the file anyway.
    assert recording.peak_bytes_per_second == pytest.approx(audio_bytes_per_second(AUDIO / name), rel=1e-9)
    assert recording.original_filename == name
    content = (AUDIO / name).read_bytes()
    assert recording.bytes == len(content)
    assert recording.sha256 == hashlib.sha256(content).hexdigest()
    with default_storage.open(recording.file.name) as stored:
        assert stored.read() == content
    session.refresh_from_db()
    assert session.status == ClinicalSession.Status.RECORDED
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert f"{seconds // 60}:{seconds % 60:02d}" in page


def test_stored_name_never_comes_from_the_client(alice_client, session):
    content = (AUDIO / "jfk.flac").read_bytes()
    response = alice_client.post(
        reverse("clinical_sessions:upload", kwargs={"pk": session.pk}),
        {"file": SimpleUploadedFile("../../etc/passwd\x00.flac", content)},
    )
    assert response.status_code == 302
    recording = Recording.objects.get(session=session)
    assert recording.file.name == f"practices/{session.practice_id}/sessions/{session.pk}/recording-{recording.id}.flac"
    assert "/" not in recording.original_filename
    assert "\x00" not in recording.original_filename


@pytest.mark.parametrize(
    ("name", "status", "phrase"),
    [
        ("bad_empty.webm", 400, "The file is empty"),
        ("bad_not_audio.webm", 415, "not audio or video that can be read"),
        ("bad_truncated.webm", 400, "The recording is incomplete"),
    ],
)
def test_each_bad_file_gets_its_own_message_and_the_session_keeps_its_recording(
    alice_client, session, name, status, phrase
):
    assert _upload(alice_client, session, "jfk.flac").status_code == 302
    before = Recording.objects.get(session=session)
    response = _upload(alice_client, session, name)
    assert response.status_code == status
    assert phrase in response.content.decode()
    after = Recording.objects.get(session=session)
    assert after.pk == before.pk
    assert default_storage.exists(after.file.name)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("bad_empty.webm", 400, "empty_file"),
        ("bad_not_audio.webm", 415, "not_audio"),
        ("bad_truncated.webm", 400, "truncated"),
    ],
)
def test_upload_errors_come_back_as_json_for_the_progress_script(alice_client, session, name, status, code):
    response = _upload(alice_client, session, name, json=True)
    assert response.status_code == status
    body = response.json()
    assert body["ok"] is False
    assert body["code"] == code
    assert body["message"]
    assert not Recording.objects.filter(session=session).exists()


def test_over_size_upload_is_refused_with_the_limit_and_keeps_the_old_recording(alice_client, session, settings):
    assert _upload(alice_client, session, "jfk.flac").status_code == 302
    before = Recording.objects.get(session=session)
    settings.MAX_UPLOAD_MB = 1
    response = _upload(alice_client, session, "dialogue_short.m4a")  # 1.1 MB
    assert response.status_code == 413
    assert "larger than the 1 MB limit" in response.content.decode()
    assert Recording.objects.get(session=session).pk == before.pk
    assert default_storage.exists(before.file.name)


def test_declared_huge_upload_is_refused_before_reading_the_body(alice_client, session):
    response = alice_client.post(
        reverse("clinical_sessions:upload", kwargs={"pk": session.pk}),
        data=b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024**3),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["message"] == "The file is 51200 MB; the largest accepted is 500 MB."


def test_upload_without_a_file_asks_for_one(alice_client, session):
    response = alice_client.post(reverse("clinical_sessions:upload", kwargs={"pk": session.pk}), {})
    assert response.status_code == 400
    assert "Choose a recording" in response.content.decode()


def test_malformed_multipart_is_a_400_not_a_500(alice_client, session):
    response = alice_client.post(
        reverse("clinical_sessions:upload", kwargs={"pk": session.pk}),
        data=b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.webm"\r\n\r\nabc',
        content_type="multipart/form-data; boundary=",
    )
    assert response.status_code == 400


def test_replacing_a_recording_deletes_the_old_file_only_after_the_new_one_is_stored(
    alice_client, session, django_capture_on_commit_callbacks
):
    assert _upload(alice_client, session, "jfk.flac").status_code == 302
    old = Recording.objects.get(session=session)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert _upload(alice_client, session, "dialogue_short.mp3").status_code == 302
    # Until the swap has committed, the old file is still there.
    assert default_storage.exists(old.file.name)
    for callback in callbacks:
        callback()
    new = Recording.objects.get(session=session)
    assert new.pk != old.pk
    assert new.codec == "mp3"
    assert not default_storage.exists(old.file.name)
    assert default_storage.exists(new.file.name)


def test_upload_needs_a_csrf_token(alice, session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = _upload(client, session, "jfk.flac")
    assert response.status_code == 403
    assert not Recording.objects.filter(session=session).exists()


def test_deleting_a_session_deletes_its_audio(alice_client, session, django_capture_on_commit_callbacks):
    assert _upload(alice_client, session, "jfk.flac").status_code == 302
    name = Recording.objects.get(session=session).file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("clinical_sessions:delete", kwargs={"pk": session.pk}))
    assert response.status_code == 302
    assert not default_storage.exists(name)


def test_temporary_upload_files_do_not_survive_the_request(alice_client, session, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    _upload(alice_client, session, "jfk.flac")
    _upload(alice_client, session, "bad_truncated.webm")
    assert list(Path(tmp_path).iterdir()) == []
