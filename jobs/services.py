"""Starting, retrying and canceling pipeline runs: the checks around them, and the status moves of
jobs.transitions."""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Practice, User
from billing.services import billing_enabled, gate_job_start
from jobs.artifacts import artifact_delete_files_rollback_unsafe, job_storage_prefix
from jobs.metering import expected_seconds, in_flight_seconds
from jobs.models import Artifact, Job
from jobs.transitions import job_create_failed, job_create_queued, job_request_cancel, job_requeue
from sessions.consent import processing_needs_consent
from sessions.models import ClinicalSession, Recording
from sessions.services import storage_delete_tree_rollback_unsafe

AI_DISABLED_MESSAGE = "AI processing is switched off on this server."


class JobAlreadyActive(Exception):
    """The session already has a queued, running or waiting job; it is ``self.job``."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"Session already has active job {job.pk}.")
        self.job = job


class NothingToProcess(Exception):
    """The session has no recording, or its audio was removed by the retention purge."""


class JobNotRetryable(Exception):
    """Only a failed or canceled job can be retried by hand."""


class AiDisabled(JobNotRetryable):
    """AI processing is switched off on this server, so no job may be retried (a JobNotRetryable, so that a
    caller that knows only that one still refuses)."""


class ConsentRequired(Exception):
    """The practice requires the client's consent before processing, and the session does not have it."""


def ai_disabled() -> bool:
    """The kill switch (``AI_MODE=off``): new jobs fail at once with AI_DISABLED and retries are refused."""
    return settings.AI_MODE == "off"


def job_start(*, session: ClinicalSession, requested_by: User | None) -> Job:
    """Queue a pipeline run for the session's current recording.

    Raises JobAlreadyActive (with the active job) when one is queued, running or waiting,
    NothingToProcess when there is no recording, ConsentRequired when the practice requires consent
    before processing and the session has none, and PlanLimitExceeded when the practice's plan does not cover it
    (billing's check, made in the transaction that creates the job). With AI switched off (``ai_disabled()``) the
    job is created and fails at once with ``AI_DISABLED``, so the refusal is visible where the clinician looks.
    """
    if processing_needs_consent(session):
        raise ConsentRequired()
    refused = ai_disabled()
    try:
        with transaction.atomic():
            # Locked, so that the retention purge cannot mark this audio between our check and our insert.
            recording = Recording.objects.select_for_update().filter(session=session).first()
            if recording is None or recording.purged_at is not None:
                raise NothingToProcess()
            if refused:
                return job_create_failed(
                    session=session,
                    media_sha256=recording.sha256,
                    requested_by=requested_by,
                    error_code="AI_DISABLED",
                    error_message=AI_DISABLED_MESSAGE,
                )
            _gate(session_id=session.pk, media_sha256=recording.sha256)
            return job_create_queued(session=session, media_sha256=recording.sha256, requested_by=requested_by)
    except IntegrityError:
        active = Job.objects.active().filter(session=session).first()
        if active is None:  # the other job finished in between: try once more
            return job_start(session=session, requested_by=requested_by)
        raise JobAlreadyActive(active) from None


def job_retry(*, job: Job, requested_by: User | None) -> Job:
    """Run a failed or canceled job again from the stage it stopped at; finished stages are not repeated.

    Raises AiDisabled when AI is switched off, JobNotRetryable when the job is not failed or canceled,
    ConsentRequired when the practice requires consent before processing and the session has none,
    JobAlreadyActive when the session has another active job, and PlanLimitExceeded when the practice's plan
    does not cover it."""
    if ai_disabled():
        raise AiDisabled()
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELED):
        raise JobNotRetryable()
    if processing_needs_consent(job.session):
        raise ConsentRequired()
    try:
        with transaction.atomic():
            _gate(session_id=job.session_id, media_sha256=job.media_sha256)
            requeued = job_requeue(job_id=job.pk, requested_by=requested_by)
    except IntegrityError:
        active = Job.objects.active().filter(session_id=job.session_id).first()
        if active is None:
            raise JobNotRetryable() from None
        raise JobAlreadyActive(active) from None
    if requeued is None:
        raise JobNotRetryable()
    job.refresh_from_db()
    return job


def _gate(*, session_id: uuid.UUID, media_sha256: str) -> None:
    """Billing's check before a run: the minutes this audio will bill, on top of the runs under way."""
    if not billing_enabled():
        return
    practice = Practice.objects.get(sessions__pk=session_id)
    practice_id = practice.pk
    gate_job_start(
        practice,
        audio_seconds=expected_seconds(session_id=session_id, practice_id=practice_id, media_sha256=media_sha256),
        in_flight_seconds=lambda: in_flight_seconds(practice_id),
    )


def job_cancel(*, job: Job, requested_by: User | None) -> Job:
    """Ask an active job to stop. A queued or waiting job ends at once; a running one at its next check."""
    if job_request_cancel(job_id=job.pk, requested_by=requested_by) is not None:
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
