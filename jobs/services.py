"""Starting, retrying and canceling pipeline runs."""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from jobs.artifacts import artifact_delete_files_rollback_unsafe, job_storage_prefix
from jobs.models import Artifact, Job, JobEvent
from jobs.notifications import notify_job_finished
from sessions.consent import processing_needs_consent
from sessions.models import ClinicalSession, Recording
from sessions.services import storage_delete_tree_rollback_unsafe


class JobAlreadyActive(Exception):
    """The session already has a queued, running or waiting job; it is ``self.job``."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"Session already has active job {job.pk}.")
        self.job = job


class NothingToProcess(Exception):
    """The session has no recording, or its audio was removed by the retention purge."""


class JobNotRetryable(Exception):
    """Only a failed or canceled job can be retried by hand."""


class ConsentRequired(Exception):
    """The practice requires the client's consent before processing, and the session does not have it."""


def _enqueue(job_id: uuid.UUID) -> None:
    from django_q.tasks import async_task

    # Only the id travels through the queue; the job row holds everything else.
    async_task("jobs.tasks.run_job", str(job_id), task_name=f"job {job_id}", group="pipeline")


def enqueue_after_commit(job_id: uuid.UUID) -> None:
    transaction.on_commit(lambda: _enqueue(job_id))


def job_start(*, session: ClinicalSession, requested_by: User | None) -> Job:
    """Queue a pipeline run for the session's current recording.

    Raises JobAlreadyActive (with the active job) when one is queued, running or waiting,
    NothingToProcess when there is no recording, and ConsentRequired when the practice requires consent
    before processing and the session has none. With ``AI_MODE=off`` the job is created and fails at
    once with ``AI_DISABLED``, so the refusal is visible where the clinician looks.
    """
    if processing_needs_consent(session):
        raise ConsentRequired()
    ai_off = settings.AI_MODE == "off"
    try:
        with transaction.atomic():
            # Locked, so that the retention purge cannot mark this audio between our check and our insert.
            recording = Recording.objects.select_for_update().filter(session=session).first()
            if recording is None or recording.purged_at is not None:
                raise NothingToProcess()
            job = Job.objects.create(
                session=session,
                media_sha256=recording.sha256,
                requested_by=requested_by,
                status=Job.Status.FAILED if ai_off else Job.Status.QUEUED,
                error_code="AI_DISABLED" if ai_off else "",
                error_message="AI processing is switched off on this server." if ai_off else "",
                finished_at=timezone.now() if ai_off else None,
            )
            JobEvent.objects.create(job=job, kind=JobEvent.Kind.CREATED, stage=job.stage, actor=requested_by)
            if ai_off:
                JobEvent.objects.create(job=job, kind=JobEvent.Kind.FAILED, message="AI_DISABLED")
                notify_job_finished(job.pk)
            ClinicalSession.objects.filter(pk=session.pk).update(
                status=ClinicalSession.Status.FAILED if ai_off else ClinicalSession.Status.PROCESSING,
                updated_at=timezone.now(),
            )
            if not ai_off:
                enqueue_after_commit(job.pk)
    except IntegrityError:
        active = Job.objects.active().filter(session=session).first()
        if active is None:  # the other job finished in between: try once more
            return job_start(session=session, requested_by=requested_by)
        raise JobAlreadyActive(active) from None
    return job


def job_retry(*, job: Job, requested_by: User | None) -> Job:
    """Run a failed or canceled job again from the stage it stopped at; finished stages are not repeated."""
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELED):
        raise JobNotRetryable()
    if settings.AI_MODE == "off":
        raise JobNotRetryable()
    try:
        with transaction.atomic():
            updated = Job.objects.filter(pk=job.pk, status__in=[Job.Status.FAILED, Job.Status.CANCELED]).update(
                status=Job.Status.QUEUED,
                attempts=0,
                crash_count=0,
                cancel_requested=False,
                next_attempt_at=None,
                error_code="",
                error_message="",
                finished_at=None,
                updated_at=timezone.now(),
            )
            if not updated:
                raise JobNotRetryable()
            JobEvent.objects.create(job=job, kind=JobEvent.Kind.RETRIED, stage=job.stage, actor=requested_by)
            ClinicalSession.objects.filter(pk=job.session_id).update(
                status=ClinicalSession.Status.PROCESSING, updated_at=timezone.now()
            )
            enqueue_after_commit(job.pk)
    except IntegrityError:
        active = Job.objects.active().filter(session_id=job.session_id).first()
        if active is None:
            raise JobNotRetryable() from None
        raise JobAlreadyActive(active) from None
    job.refresh_from_db()
    return job


def job_cancel(*, job: Job, requested_by: User | None) -> Job:
    """Ask an active job to stop. A queued or waiting job ends at once; a running one at its next check."""
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE_STATUSES).update(
            cancel_requested=True, updated_at=timezone.now()
        )
        ended = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RETRY_WAIT]).update(
            status=Job.Status.CANCELED, finished_at=timezone.now(), updated_at=timezone.now()
        )
        if ended:
            JobEvent.objects.create(job=job, kind=JobEvent.Kind.CANCELED, stage=job.stage, actor=requested_by)
            ClinicalSession.objects.filter(pk=job.session_id).update(
                status=ClinicalSession.Status.RECORDED, updated_at=timezone.now()
            )
    if ended:
        job_cleanup_artifacts(job_id=job.pk)
    job.refresh_from_db()
    return job


def job_cleanup_artifacts(*, job_id: uuid.UUID, prefix: str | None = None) -> None:
    """Delete a stopped job's stored files and their rows (rows first; files once that has committed).

    ``prefix`` is the job's storage folder, swept too so that a file whose row was never written goes as well;
    it is looked up from the job when not given (a deleted job's caller must pass it).
    """
    if prefix is None:
        job = Job.objects.select_related("session").filter(pk=job_id).first()
        prefix = job_storage_prefix(job) if job is not None else None
    with transaction.atomic():
        names = list(Artifact.objects.filter(job_id=job_id).values_list("storage_name", flat=True))
        Artifact.objects.filter(job_id=job_id).delete()
        transaction.on_commit(lambda: artifact_delete_files_rollback_unsafe(names))
        if prefix is not None:
            transaction.on_commit(functools.partial(storage_delete_tree_rollback_unsafe, prefix))
