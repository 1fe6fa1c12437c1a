from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from jobs.dispatch import dispatch_pass
from jobs.models import Artifact, Job, JobEvent
from jobs.services import job_cancel, job_retry, job_start
from jobs.tasks import run_job
from sessions.models import ClinicalSession, Transcript

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _stub(settings):
    settings.AI_MODE = "stub"


def test_due_retries_are_started_once_by_racing_dispatchers(
    alice, recorded_session, django_capture_on_commit_callbacks
):
    job = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RETRY_WAIT, next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks() as enqueued:
        first = dispatch_pass()
        second = dispatch_pass()
    assert first["started"] == 1
    assert second["started"] == 0
    assert len(enqueued) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_retries_not_yet_due_wait(alice, recorded_session):
    job = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RETRY_WAIT, next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert dispatch_pass()["started"] == 0
    job.refresh_from_db()
    assert job.status == Job.Status.RETRY_WAIT


def test_a_queued_job_whose_task_was_lost_is_sent_again_once(
    alice, recorded_session, settings, django_capture_on_commit_callbacks
):
    settings.JOB_RESEND_AFTER_SECONDS = 60
    job = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    assert dispatch_pass()["resent"] == 0
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks() as enqueued:
        assert dispatch_pass()["resent"] == 1
        assert dispatch_pass()["resent"] == 0
    assert len(enqueued) == 1


def test_a_canceled_job_whose_worker_died_ends_canceled_not_queued(alice, recorded_session):
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        lease_token=uuid.uuid4(),
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
        cancel_requested=True,
    )
    dispatch_pass()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CANCELED).exists()
    session.refresh_from_db()
    assert session.status == ClinicalSession.Status.RECORDED
    # and a new start is possible again
    assert job_start(session=session, requested_by=alice).pk != job.pk


def test_a_job_canceled_mid_transcription_can_be_retried(alice, recorded_session):
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    # Put it back as it is when canceled while transcribing: no transcript yet, and its chunks are gone.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RETRY_WAIT, stage=Job.Stage.TRANSCRIBE)
    Artifact.objects.filter(job=job).delete()
    Transcript.objects.filter(session=session).delete()
    job_cancel(job=job, requested_by=alice)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO).exists()


def test_every_way_a_job_ends_in_failure_records_a_webhook_event(alice, recorded_session, settings):
    from integrations.models import WebhookDelivery, WebhookEndpoint

    WebhookEndpoint.objects.create(
        practice=alice.memberships.get().practice, url="https://hooks.example.org/x", secret="s" * 32
    )
    # a worker that keeps dying
    settings.JOB_MAX_CRASHES = 1
    crashed = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    Job.objects.filter(pk=crashed.pk).update(
        status=Job.Status.RUNNING, lease_token=uuid.uuid4(), lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert dispatch_pass()["failed_after_crashes"] == 1
    # the kill switch
    settings.AI_MODE = "off"
    refused = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    events = {
        (d.payload["data"]["job_id"], d.payload["data"]["error_code"])
        for d in WebhookDelivery.objects.filter(event_type="job.failed")
    }
    assert events == {(str(crashed.pk), "WORKER_CRASHED"), (str(refused.pk), "AI_DISABLED")}
