"""Pipeline runs through the API: start, read, retry, cancel, and results with signed, expiring links."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.utils import timezone

from jobs.models import Artifact, Job
from jobs.services import job_start

pytestmark = pytest.mark.django_db

JOB_FIELDS = {
    "id",
    "session_id",
    "status",
    "stage",
    "progress",
    "attempts",
    "next_attempt_at",
    "error",
    "events",
    "created_at",
    "started_at",
    "finished_at",
}


@pytest.fixture(autouse=True)
def _stub(settings):
    settings.AI_MODE = "stub"


def test_starting_a_job_answers_202_with_the_job(api, recorded_session):
    response = api.post_json(f"/api/v1/sessions/{recorded_session.pk}/jobs")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == JOB_FIELDS
    job = Job.objects.get(session=recorded_session)
    assert (body["id"], body["session_id"], body["status"]) == (str(job.pk), str(recorded_session.pk), "queued")
    assert [event["kind"] for event in body["events"]] == ["created"]


def test_a_second_start_is_a_409_naming_the_active_job(api, recorded_session):
    first = api.post_json(f"/api/v1/sessions/{recorded_session.pk}/jobs").json()
    response = api.post_json(f"/api/v1/sessions/{recorded_session.pk}/jobs")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["details"]["job"]["id"] == first["id"]
    assert Job.objects.count() == 1


def test_a_session_without_recording_cannot_be_processed(api, alice_session):
    response = api.post_json(f"/api/v1/sessions/{alice_session.pk}/jobs")
    assert response.status_code == 409
    assert "recording" in response.json()["error"]["message"]


def test_with_ai_off_starting_a_job_is_a_503_and_creates_nothing(api, recorded_session, settings):
    settings.AI_MODE = "off"
    response = api.post_json(f"/api/v1/sessions/{recorded_session.pk}/jobs")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ai_disabled"
    assert not Job.objects.exists()


def test_a_job_reads_with_its_progress_error_and_events(api, recorded_session, alice):
    job = job_start(session=recorded_session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED,
        error_code="AUDIO_UNREADABLE",
        error_message="Bad audio.",
        progress={"done": 2, "total": 5},
    )
    body = api.get(f"/api/v1/jobs/{job.pk}").json()
    assert body["error"] == {"code": "AUDIO_UNREADABLE", "message": "Bad audio."}
    assert body["progress"] == {"done": 2, "total": 5}
    assert body["events"][0]["kind"] == "created"


def test_an_unknown_job_is_a_404(api):
    response = api.get(f"/api/v1/jobs/{uuid.uuid4()}")
    assert response.status_code == 404


def test_retry_requeues_a_failed_job_at_its_stage(api, recorded_session, alice):
    job = job_start(session=recorded_session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, stage=Job.Stage.DRAFT, error_code="X")
    response = api.post_json(f"/api/v1/jobs/{job.pk}/retry")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["stage"]) == ("queued", "draft")


def test_with_ai_off_a_retry_is_a_503_and_leaves_the_job_failed(api, recorded_session, alice, settings):
    job = job_start(session=recorded_session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error_code="X")
    settings.AI_MODE = "off"
    response = api.post_json(f"/api/v1/jobs/{job.pk}/retry")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ai_disabled"
    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED


def test_retrying_a_succeeded_job_is_a_409(api, succeeded_job):
    assert api.post_json(f"/api/v1/jobs/{succeeded_job.pk}/retry").status_code == 409


def test_cancel_ends_a_queued_job(api, recorded_session, alice):
    job = job_start(session=recorded_session, requested_by=alice)
    response = api.post_json(f"/api/v1/jobs/{job.pk}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "canceled"


def test_canceling_a_finished_job_is_a_409(api, succeeded_job):
    response = api.post_json(f"/api/v1/jobs/{succeeded_job.pk}/cancel")
    assert response.status_code == 409
    assert Job.objects.get(pk=succeeded_job.pk).status == Job.Status.SUCCEEDED


# --- Results -------------------------------------------------------------------------------------


def test_the_result_has_the_transcript_the_note_and_signed_links(api, succeeded_job):
    response = api.get(f"/api/v1/jobs/{succeeded_job.pk}/result")
    assert response.status_code == 200
    body = response.json()
    assert body["job_id"] == str(succeeded_job.pk)
    assert body["transcript"]["segments"]
    assert body["note"]["session_id"] == str(succeeded_job.session_id)
    kinds = {artifact["kind"] for artifact in body["artifacts"]}
    assert {"note_docx", "note_txt", "transcript_json"} <= kinds
    for artifact in body["artifacts"]:
        assert set(artifact) == {"kind", "url", "expires_at", "bytes", "sha256"}
        expires = dt.datetime.fromisoformat(artifact["expires_at"])
        assert timezone.now() < expires <= timezone.now() + dt.timedelta(minutes=6)


def test_a_signed_link_downloads_the_file_without_the_key(api, anonymous_api, succeeded_job):
    links = {a["kind"]: a for a in api.get(f"/api/v1/jobs/{succeeded_job.pk}/result").json()["artifacts"]}
    response = anonymous_api.get(links["note_txt"]["url"])
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert len(content) == links["note_txt"]["bytes"]
    assert response["Content-Disposition"].startswith('attachment; filename="note-')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == "sandbox"


def test_a_tampered_link_is_refused(api, anonymous_api, succeeded_job):
    url = api.get(f"/api/v1/jobs/{succeeded_job.pk}/result").json()["artifacts"][0]["url"]
    other = Artifact.objects.exclude(kind=Artifact.Kind.CHUNK_AUDIO).last()
    assert other is not None
    payload, _, signature = url.rsplit("/", 1)[1].partition(":")
    forged = signing.b64_encode(f'{{"artifact":"{other.pk}"}}'.encode()).decode()
    for token in (f"{forged}:{signature}", f"{payload}:{signature[:-2]}xx", "x"):
        response = anonymous_api.get(f"/api/v1/artifacts/{token}")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_an_expired_link_is_refused(api, anonymous_api, succeeded_job, monkeypatch, settings):
    real = time.time
    monkeypatch.setattr("django.core.signing.time.time", lambda: real() - settings.API_DOWNLOAD_URL_SECONDS - 5)
    url = api.get(f"/api/v1/jobs/{succeeded_job.pk}/result").json()["artifacts"][0]["url"]
    monkeypatch.setattr("django.core.signing.time.time", real)
    response = anonymous_api.get(url)
    assert response.status_code == 403
    assert "expired" in response.json()["error"]["message"]


def test_a_link_to_a_purged_file_is_gone(api, anonymous_api, succeeded_job):
    url = api.get(f"/api/v1/jobs/{succeeded_job.pk}/result").json()["artifacts"][0]["url"]
    Artifact.objects.filter(job=succeeded_job).update(purging_at=timezone.now())
    assert anonymous_api.get(url).status_code == 410
    Artifact.objects.filter(job=succeeded_job).delete()
    assert anonymous_api.get(url).status_code == 410


def test_a_result_of_an_unfinished_job_is_a_409(api, recorded_session, alice):
    job = job_start(session=recorded_session, requested_by=alice)
    response = api.get(f"/api/v1/jobs/{job.pk}/result")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"status": "queued"}


def test_a_result_of_a_failed_job_is_a_409(api, recorded_session, alice):
    job = job_start(session=recorded_session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED)
    assert api.get(f"/api/v1/jobs/{job.pk}/result").status_code == 409


def test_a_result_of_an_unknown_job_is_a_404(api):
    assert api.get(f"/api/v1/jobs/{uuid.uuid4()}/result").status_code == 404


@pytest.mark.parametrize(
    "purge",
    [
        lambda job: Artifact.objects.filter(job=job, kind=Artifact.Kind.NOTE_DOCX).update(purging_at=timezone.now()),
        lambda job: Artifact.objects.filter(job=job, kind=Artifact.Kind.NOTE_TXT).delete(),
        lambda job: Artifact.objects.filter(job=job, kind=Artifact.Kind.TRANSCRIPT_JSON).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        ),
    ],
    ids=["being purged", "deleted", "past its expiry"],
)
def test_a_result_whose_files_were_purged_is_gone(api, succeeded_job, purge):
    purge(succeeded_job)
    response = api.get(f"/api/v1/jobs/{succeeded_job.pk}/result")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "gone"


def test_with_s3_storage_the_links_still_go_through_our_download_headers(api, succeeded_job, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "scribe-test",
                "endpoint_url": "http://127.0.0.1:9",
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "querystring_auth": True,
            },
        },
    }
    links = api.get(f"/api/v1/jobs/{succeeded_job.pk}/result").json()["artifacts"]
    url = next(link["url"] for link in links if link["kind"] == "note_docx")
    # Not a presigned bucket URL, which could not carry nosniff or the sandbox CSP.
    assert urlsplit(url).path.startswith("/api/v1/")
    assert "127.0.0.1:9" not in url


def test_a_retry_needs_consent_when_the_practice_requires_it(api, recorded_session, alice):
    session = recorded_session
    job = job_start(session=session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, stage=Job.Stage.DRAFT)
    practice = session.practice
    practice.require_consent_before_processing = True
    practice.save(update_fields=["require_consent_before_processing"])

    response = api.post_json(f"/api/v1/jobs/{job.pk}/retry")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consent_required"
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
