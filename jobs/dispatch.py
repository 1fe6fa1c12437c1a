"""The periodic pass that keeps jobs moving: starts retries that are due, re-sends queued jobs whose task
was lost, and reclaims jobs whose worker died (its lease ran out).

Every transition here is a conditional update, so any number of dispatchers (the django-q2 schedule on
every cluster, the runner endpoint called by an outside scheduler) can run at once: each job is moved,
and enqueued, by exactly one of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.webhooks import webhook_resend_stale
from jobs.models import Job, JobEvent
from jobs.notifications import notify_job_finished
from jobs.recordings import idle_recordings_finish
from jobs.runner import job_finish_canceled
from jobs.services import enqueue_after_commit
from sessions.models import ClinicalSession

logger = logging.getLogger(__name__)

BATCH = 500


class DispatchCounts(TypedDict):
    started: int
    resent: int
    reclaimed: int
    failed_after_crashes: int
    webhooks_resent: int
    recordings_finished: int


def dispatch_pass() -> DispatchCounts:
    """One pass; safe to run from several schedulers at once. Returns what it did."""
    now = timezone.now()
    counts: DispatchCounts = {
        "started": _start_due_retries(now),
        "resent": _resend_stale_queued(now),
        "reclaimed": 0,
        "failed_after_crashes": 0,
        "webhooks_resent": webhook_resend_stale(
            now=now, quiet_for=dt.timedelta(seconds=settings.JOB_RESEND_AFTER_SECONDS)
        ),
        "recordings_finished": idle_recordings_finish(now=now),
    }
    reclaimed, failed = _reclaim_expired_leases(now)
    counts["reclaimed"] = reclaimed
    counts["failed_after_crashes"] = failed
    if any(counts.values()):
        logger.info("dispatch: %s", counts)
    return counts


def _start_due_retries(now: dt.datetime) -> int:
    due = Job.objects.filter(status=Job.Status.RETRY_WAIT, next_attempt_at__lte=now, cancel_requested=False)
    started = 0
    for job_id in list(due.values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            moved = Job.objects.filter(pk=job_id, status=Job.Status.RETRY_WAIT, next_attempt_at__lte=now).update(
                status=Job.Status.QUEUED, next_attempt_at=None, updated_at=now
            )
            if moved:
                enqueue_after_commit(job_id)
        started += moved
    return started


def _resend_stale_queued(now: dt.datetime) -> int:
    """A queued job nobody claimed for a while lost its task (a broker restart, a crash before enqueue):
    send it again. A duplicate task is harmless: only one claim can succeed."""
    stale_before = now - dt.timedelta(seconds=settings.JOB_RESEND_AFTER_SECONDS)
    stale = Job.objects.filter(status=Job.Status.QUEUED, updated_at__lt=stale_before, cancel_requested=False)
    resent = 0
    for job_id, updated_at in list(stale.values_list("pk", "updated_at")[:BATCH]):
        with transaction.atomic():
            touched = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, updated_at=updated_at).update(
                updated_at=now
            )
            if touched:
                enqueue_after_commit(job_id)
        resent += touched
    return resent


def _reclaim_expired_leases(now: dt.datetime) -> tuple[int, int]:
    expired = Job.objects.filter(status=Job.Status.RUNNING, lease_expires_at__lt=now)
    reclaimed = failed = 0
    for job_id, token, crashes, stage, session_id, cancel_requested in list(
        expired.values_list("pk", "lease_token", "crash_count", "stage", "session_id", "cancel_requested")[:BATCH]
    ):
        mine = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, lease_token=token, lease_expires_at__lt=now)
        if cancel_requested:
            # Its worker died after the cancel was asked for: finish the cancel on its behalf.
            if mine.update(lease_token=None, updated_at=now):
                job_finish_canceled(job_id, storage_prefix=None)
            continue
        with transaction.atomic():
            if crashes + 1 >= settings.JOB_MAX_CRASHES:
                message = (
                    f"The job stopped its worker {crashes + 1} times at the step “{Job.Stage(stage).label}”, so it was "
                    "ended to protect the service. Retry it; if it stops again, contact support."
                )
                ended = mine.update(
                    status=Job.Status.FAILED,
                    crash_count=F("crash_count") + 1,
                    lease_token=None,
                    finished_at=now,
                    error_code="WORKER_CRASHED",
                    error_message=message,
                    updated_at=now,
                )
                if ended:
                    JobEvent.objects.create(
                        job_id=job_id, kind=JobEvent.Kind.FAILED, stage=stage, message="WORKER_CRASHED"
                    )
                    ClinicalSession.objects.filter(pk=session_id).update(
                        status=ClinicalSession.Status.FAILED, updated_at=now
                    )
                    notify_job_finished(job_id)
                failed += ended
                continue
            moved = mine.update(
                status=Job.Status.QUEUED,
                crash_count=F("crash_count") + 1,
                lease_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
            if moved:
                JobEvent.objects.create(
                    job_id=job_id,
                    kind=JobEvent.Kind.RECLAIMED,
                    stage=stage,
                    message=f"worker lost (crash {crashes + 1})",
                )
                enqueue_after_commit(job_id)
            reclaimed += moved
    return reclaimed, failed
