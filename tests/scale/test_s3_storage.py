"""The application on S3-compatible storage: moto in server mode, reached over HTTP with the options config.settings
gives S3 in production (``s3_bucket``). Uploads, recordings made in parts, a pipeline run's chunks and artifacts,
signed download links, the purge and the readiness probe, with every object written under server-side encryption.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from config.storage_s3 import MeasuredS3Storage
from jobs.artifacts import job_storage_prefix
from jobs.models import Artifact, Job
from jobs.purge import purge_run
from jobs.services import job_start
from jobs.tasks import run_job
from sessions.models import ClinicalSession, Recording, RecordingPart, session_storage_prefix
from sessions.parts import recording_part_store
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.media_recorder import live_webm, parts_at_clusters
from tests.support.s3 import bucket_create, production_s3_storage
from tests.support.synthetic_audio import write_wav

pytestmark = pytest.mark.django_db


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _session(alice, **fields) -> ClinicalSession:
    return ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice, **fields)


def _recorded(alice, name: str = "jfk.flac") -> ClinicalSession:
    session = _session(alice, note_type="soap")
    recording_replace(session=session, upload_path=AUDIO / name, original_filename=name, uploaded_by=alice)
    session.refresh_from_db()
    return session


def _run(session: ClinicalSession, alice) -> Job:
    job = job_start(session=session, requested_by=alice)
    # What follows the commits (the chunks' audio deleted after the success) happens as it would outside a test.
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    return job


def test_the_default_storage_is_the_production_s3_storage_on_the_bucket(s3_bucket):
    storage = storages["default"]
    assert isinstance(storage, MeasuredS3Storage)
    assert storage.bucket_name == s3_bucket.name
    assert storage.object_parameters == {"ServerSideEncryption": "AES256"}
    with pytest.raises(NotImplementedError):
        storage.path("practices/x")


def test_an_uploaded_recording_is_one_encrypted_object_in_the_bucket(api, alice, s3_bucket):
    session = _session(alice)
    with (AUDIO / "dialogue_short.mp3").open("rb") as handle:
        response = api.post(f"/api/v1/sessions/{session.pk}/recording", {"file": handle})

    assert response.status_code == 201, response.content
    recording = Recording.objects.get(session=session)
    assert s3_bucket.keys() == [recording.file.name]
    assert recording.file.name.startswith(session_storage_prefix(session))
    assert s3_bucket.read(recording.file.name) == (AUDIO / "dialogue_short.mp3").read_bytes()
    assert response.json()["sha256"] == _sha256(s3_bucket.read(recording.file.name))
    assert s3_bucket.head(recording.file.name)["ServerSideEncryption"] == "AES256"


def test_a_recording_larger_than_one_put_is_uploaded_in_parts_and_encrypted_too(alice, s3_bucket, tmp_path):
    # Five minutes of 16 kHz WAV, 9.6 MB: over boto3's 8 MB threshold, so a multipart upload.
    audio = write_wav(tmp_path / "long.wav", [(300.0, -20.0)])
    session = _session(alice)

    recording = recording_replace(session=session, upload_path=audio, original_filename="long.wav", uploaded_by=alice)

    head = s3_bucket.head(recording.file.name)
    # A multipart object's ETag is the digest of its parts' digests, with their count.
    assert head["ETag"].strip('"').endswith("-2")
    assert head["ContentLength"] == audio.stat().st_size
    assert head["ServerSideEncryption"] == "AES256"
    assert _sha256(s3_bucket.read(recording.file.name)) == recording.sha256


def test_a_replaced_recording_leaves_only_the_new_object(api, alice, s3_bucket, django_capture_on_commit_callbacks):
    session = _session(alice)
    for name in ("jfk.flac", "dialogue_short.mp3"):
        with (AUDIO / name).open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
            assert api.post(f"/api/v1/sessions/{session.pk}/recording", {"file": handle}).status_code == 201

    recording = Recording.objects.get(session=session)
    assert s3_bucket.keys() == [recording.file.name]
    assert s3_bucket.read(recording.file.name) == (AUDIO / "dialogue_short.mp3").read_bytes()


def test_parts_recorded_in_the_browser_are_kept_in_the_bucket_and_assembled_from_it(
    api, alice, s3_bucket, django_capture_on_commit_callbacks
):
    session = _session(alice, consent_status="given", consent_method="verbal")
    parts = parts_at_clusters(live_webm())[:4]
    for n, data in enumerate(parts):
        response = api.put(f"/api/v1/sessions/{session.pk}/recording/parts/{n}", data, content_type="audio/webm")
        assert response.status_code == 201, response.content

    stored = {part.n: part.storage_name for part in RecordingPart.objects.filter(session=session)}
    assert sorted(stored) == [0, 1, 2, 3]
    assert s3_bucket.keys() == sorted(stored.values())
    assert all(s3_bucket.read(stored[n]) == data for n, data in enumerate(parts))
    assert s3_bucket.unencrypted() == []

    with django_capture_on_commit_callbacks(execute=True):
        completed = api.post(f"/api/v1/sessions/{session.pk}/recording/parts/complete")

    assert completed.status_code == 201, completed.content
    recording = Recording.objects.get(session=session)
    # The parts went once the recording had committed; the assembled recording is the one object left.
    assert s3_bucket.keys() == [recording.file.name]
    assert _sha256(s3_bucket.read(recording.file.name)) == recording.sha256
    assert s3_bucket.unencrypted() == []


def test_a_pipeline_run_keeps_its_chunks_and_artifacts_in_the_bucket(
    alice, s3_bucket, fake_anthropic, fake_openai, settings, django_capture_on_commit_callbacks
):
    # The two-minute dialogue in 30-second chunks: several chunk files, each downloaded again to be sent.
    settings.TRANSCRIPTION_MAX_CHUNK_SECONDS = 30
    session = _recorded(alice, "dialogue_short.webm")
    job = job_start(session=session, requested_by=alice)

    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"

    prefix = job_storage_prefix(job)
    chunk_keys = [key for key in s3_bucket.keys(prefix) if key.startswith(f"{prefix}chunk_audio-")]
    assert len(chunk_keys) >= 3
    # What the provider received is what the bucket holds.
    sent = {r.file_sha256 for r in fake_openai.requests if r.path == "/v1/audio/transcriptions"}
    assert {_sha256(s3_bucket.read(key)) for key in chunk_keys} == sent
    artifacts = Artifact.objects.filter(job=job).exclude(storage_name="")
    kinds = set(artifacts.values_list("kind", flat=True))
    assert {"chunk_transcript", "transcript_json", "draft_json", "note_docx", "note_txt"} <= kinds
    for artifact in artifacts:
        assert _sha256(s3_bucket.read(artifact.storage_name)) == artifact.sha256, artifact.kind
    assert s3_bucket.unencrypted() == []

    # Once the success has committed the chunks' audio goes from the bucket; everything else stays.
    for callback in after_commit:
        callback()
    left = set(s3_bucket.keys(prefix))
    assert left.isdisjoint(chunk_keys)
    assert left == set(artifacts.values_list("storage_name", flat=True))


def test_a_results_signed_links_download_the_files_from_the_bucket(api, alice, s3_bucket, settings, monkeypatch):
    settings.AI_MODE = "stub"
    job = _run(_recorded(alice), alice)
    links = api.get(f"/api/v1/jobs/{job.pk}/result").json()["artifacts"]
    assert {link["kind"] for link in links} >= {"note_docx", "transcript_json"}

    for link in links:
        assert urlsplit(link["url"]).path.startswith("/api/v1/artifacts/")
        response = api.get(link["url"])
        assert response.status_code == 200, link["kind"]
        artifact = Artifact.objects.get(job=job, kind=link["kind"])
        assert b"".join(response.streaming_content) == s3_bucket.read(artifact.storage_name)
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Cache-Control"] == "no-store"

    # Short-lived: past API_DOWNLOAD_URL_SECONDS the same link is refused.
    real = time.time
    monkeypatch.setattr("django.core.signing.time.time", lambda: real() + settings.API_DOWNLOAD_URL_SECONDS + 5)
    assert api.get(links[0]["url"]).status_code == 403
    monkeypatch.setattr("django.core.signing.time.time", real)
    # An object gone from the bucket behind the database's back is a 410, not a 500.
    docx = Artifact.objects.get(job=job, kind="note_docx")
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=docx.storage_name)
    gone = next(link["url"] for link in links if link["kind"] == "note_docx")
    assert api.get(gone).status_code == 410


def test_the_recording_plays_from_a_presigned_url_that_works_against_the_bucket(alice, alice_client, s3_bucket):
    session = _recorded(alice)
    recording = Recording.objects.get(session=session)

    response = alice_client.get(
        reverse("clinical_sessions:audio", args=[session.pk, recording.pk]), HTTP_RANGE="bytes=0-99"
    )

    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(f"{s3_bucket.server.endpoint_url}/{s3_bucket.name}/{recording.file.name}?")
    query = parse_qs(urlsplit(url).query)
    lifetime = (
        int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else int(query["Expires"][0]) - int(time.time())
    )
    assert 0 < lifetime <= 60
    # The bucket answers the URL, and the range the player asks for.
    whole = urllib.request.urlopen(url, timeout=10)  # noqa: S310 — the moto server on 127.0.0.1
    assert whole.read() == (AUDIO / "jfk.flac").read_bytes()
    assert whole.headers["Content-Type"] == recording.content_type
    player = urllib.request.Request(url, headers={"Range": "bytes=0-99"})  # noqa: S310
    ranged = urllib.request.urlopen(player, timeout=10)  # noqa: S310
    assert ranged.status == 206
    assert ranged.read() == (AUDIO / "jfk.flac").read_bytes()[:100]


def test_the_purge_deletes_the_objects_past_their_time_and_nothing_live(alice, s3_bucket, settings):
    settings.AI_MODE = "stub"
    old = _run(_recorded(alice), alice)
    live = _run(_recorded(alice, "dialogue_short.mp3"), alice)
    recording_parts = _session(alice, consent_status="given", consent_method="verbal")
    part_file = AUDIO / "jfk.flac"
    part, _ = recording_part_store(
        session=recording_parts, n=0, content=part_file, sha256=_sha256(part_file.read_bytes()), received_by=alice
    )
    # The old job finished before the audio retention and its files expired; an orphan, written before its row
    # would have been (a crashed writer), and a readiness probe nobody deleted.
    long_ago = timezone.now() - dt.timedelta(hours=settings.AUDIO_RETENTION_HOURS + 1)
    Job.objects.filter(pk=old.pk).update(finished_at=long_ago)
    Artifact.objects.filter(job=old).update(expires_at=long_ago)
    orphan = f"{session_storage_prefix(live.session)}jobs/{live.pk}/note_docx-lost.docx"
    s3_bucket.put(orphan, b"orphan")
    old_recording = Recording.objects.get(session=old.session).file.name
    old_files = set(Artifact.objects.filter(job=old).exclude(storage_name="").values_list("storage_name", flat=True))
    kept = {Recording.objects.get(session=live.session).file.name, part.storage_name} | set(
        Artifact.objects.filter(job=live).exclude(storage_name="").values_list("storage_name", flat=True)
    )
    assert old_files
    assert {old_recording, orphan} | old_files | kept <= set(s3_bucket.keys())

    # Within the orphans' grace period: the orphan stays (its row may be on its way).
    purge_run()
    assert orphan in set(s3_bucket.keys())
    run = purge_run(now=timezone.now() + dt.timedelta(minutes=settings.ORPHAN_GRACE_MINUTES + 1))

    assert set(s3_bucket.keys()) == kept
    assert run.counts["orphan_files"] == 1
    assert Recording.objects.get(session=old.session).purged_at is not None
    assert not Artifact.objects.filter(job=old).exclude(storage_name="").exists()
    assert Artifact.objects.filter(job=live).exclude(storage_name="").count() == len(kept) - 2


def test_the_readiness_probe_writes_reads_and_deletes_in_the_bucket(client, s3_bucket):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json()["checks"]["storage"]["ok"] is True
    assert s3_bucket.keys() == []


def test_the_readiness_probe_fails_when_the_bucket_is_missing(client, s3_bucket, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**s3_bucket.storage, "OPTIONS": {**s3_bucket.storage["OPTIONS"], "bucket_name": "no-such-bucket"}},
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["ok"] is False


def test_objects_are_encrypted_under_the_kms_key_when_one_is_named(moto_s3, settings):
    server, _ = moto_s3
    key_id = "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    bucket = bucket_create(server, production_s3_storage({**server.env("kms"), "AWS_S3_SSE_KMS_KEY_ID": key_id}))
    settings.STORAGES = {**settings.STORAGES, "default": bucket.storage}
    try:
        name = default_storage.save("practices/p/kms.txt", ContentFile(b"under the key"))
        head = bucket.head(name)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_id)
        with default_storage.open(name) as handle:
            assert handle.read() == b"under the key"
    finally:
        bucket.empty_and_delete()
