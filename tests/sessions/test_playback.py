"""The session's audio, played on its page: byte ranges from local storage, a short-lived signed URL from S3."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import Storage
from django.urls import reverse
from django.utils import timezone

from sessions.models import ClinicalSession, Recording
from sessions.playback import SIGNED_URL_SECONDS, ByteRange, RangeNotSatisfiable, parse_range
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


@pytest.fixture
def recording(alice) -> Recording:
    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    return recording_replace(
        session=session, upload_path=AUDIO / "jfk.flac", original_filename="Jane Doe visit.flac", uploaded_by=alice
    )


def _url(recording: Recording) -> str:
    return reverse("clinical_sessions:audio", kwargs={"pk": recording.session_id, "recording_id": recording.pk})


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


AUDIO_BYTES = (AUDIO / "jfk.flac").read_bytes()
SIZE = len(AUDIO_BYTES)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("", None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-300", ByteRange(700, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        ("Bytes = 5 - 9", ByteRange(5, 9)),
        ("items=0-5", None),
        ("bytes=0-1, 5-6", None),
    ],
)
def test_a_range_header_is_read_as_the_bytes_it_asks_for(header, wanted):
    assert parse_range(header, 1000) == wanted


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=1000-1005", "bytes=9-5", "bytes=-0", "bytes=abc", "bytes=", "bytes=-", "bytes=²-3"]
)
def test_a_range_the_file_does_not_have_is_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_an_empty_file_has_no_suffix_to_give():
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-10", 0)


# --- the view ------------------------------------------------------------------------------------


def test_the_whole_recording_streams_with_private_headers_and_no_client_filename(alice_client, recording):
    response = alice_client.get(_url(recording))

    assert response.status_code == 200
    assert response.streaming
    assert _body(response) == AUDIO_BYTES
    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == recording.content_type
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert "Jane" not in str(response.headers)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, SIZE - 1), ("bytes=-512", SIZE - 512, SIZE - 1)],
)
def test_a_range_is_answered_206_with_exactly_those_bytes(alice_client, recording, header, first, last):
    response = alice_client.get(_url(recording), HTTP_RANGE=header)

    assert response.status_code == 206
    assert _body(response) == AUDIO_BYTES[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", "bytes=50-10", "bytes=x-y", "bytes=-0"])
def test_a_range_past_the_end_or_malformed_is_a_416(alice_client, recording, header):
    response = alice_client.get(_url(recording), HTTP_RANGE=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response["Cache-Control"] == "no-store"


def test_several_ranges_get_the_whole_file(alice_client, recording):
    response = alice_client.get(_url(recording), HTTP_RANGE="bytes=0-9,20-29")

    assert response.status_code == 200
    assert _body(response) == AUDIO_BYTES


def test_the_audio_needs_login(client, recording):
    response = client.get(_url(recording))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_another_practices_audio_is_a_404(charlie_client, recording):
    assert charlie_client.get(_url(recording)).status_code == 404


def test_a_clinician_cannot_play_a_colleagues_session(bob_client, recording):
    assert bob_client.get(_url(recording)).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_audio_refuses_other_methods(alice_client, recording, method):
    assert getattr(alice_client, method)(_url(recording)).status_code == 405


def test_head_answers_the_headers_only(alice_client, recording):
    response = alice_client.head(_url(recording))

    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)


def test_a_replaced_recording_is_no_longer_served_under_its_old_id(alice_client, alice, recording):
    old_url = _url(recording)
    recording_replace(
        session=recording.session, upload_path=AUDIO / "jfk.flac", original_filename="new.flac", uploaded_by=alice
    )

    assert alice_client.get(old_url).status_code == 404


def test_a_recording_of_another_session_is_a_404(alice_client, alice, recording):
    other = ClinicalSessionFactory(practice=recording.session.practice, clinician=alice)
    url = reverse("clinical_sessions:audio", kwargs={"pk": other.pk, "recording_id": recording.pk})

    assert alice_client.get(url).status_code == 404


def test_purged_audio_is_gone(alice_client, recording):
    Recording.objects.filter(pk=recording.pk).update(purged_at=timezone.now())

    response = alice_client.get(_url(recording))

    assert response.status_code == 410
    assert "retention policy" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_audio_missing_from_storage_is_gone(alice_client, recording):
    recording.file.storage.delete(recording.file.name)

    assert alice_client.get(_url(recording)).status_code == 410


class SignedUrlStorage(Storage):
    """A remote storage as django-storages' S3Storage looks to the view: no local path, presigned URLs."""

    calls: list[dict[str, Any]] = []

    def url(self, name: str | None, parameters: dict[str, str] | None = None, expire: int | None = None) -> str:
        self.calls.append({"name": name, "parameters": parameters, "expire": expire})
        return f"https://bucket.example/{name}?X-Amz-Expires={expire}&X-Amz-Signature=abc"


def test_with_s3_storage_the_browser_is_sent_to_a_short_lived_signed_url(settings, alice_client, alice):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.SignedUrlStorage"}}
    SignedUrlStorage.calls.clear()
    session: ClinicalSession = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    recording = Recording.objects.create(
        session=session,
        file=f"practices/{session.practice_id}/sessions/{session.pk}/recording-1.flac",
        original_filename="visit.flac",
        content_type="audio/flac",
        bytes=10,
        sha256="0" * 64,
        duration_seconds=1.0,
        codec="flac",
        container="flac",
    )

    response = alice_client.get(_url(recording), HTTP_RANGE="bytes=0-99")

    assert response.status_code == 302
    assert response["Location"].startswith(f"https://bucket.example/{recording.file.name}?")
    assert response["Cache-Control"] == "no-store"
    assert SignedUrlStorage.calls == [
        {
            "name": recording.file.name,
            "parameters": {"ResponseContentType": "audio/flac", "ResponseCacheControl": "no-store"},
            "expire": SIGNED_URL_SECONDS,
        }
    ]
    assert SIGNED_URL_SECONDS <= 60
