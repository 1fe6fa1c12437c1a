"""The periodic pass that keeps jobs moving: starts retries that are due, re-sends queued jobs whose task
was lost, and reclaims jobs whose worker died (its lease ran out).

Every move here is a conditional update (status changes are those of jobs.transitions), so any number of
dispatchers (the django-q2 schedule on every cluster, the runner endpoint called by an outside scheduler) can
run at once: each job is moved, and enqueued, by exactly one of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.webhooks import webhook_resend_stale
from jobs.models import Job
from jobs.queue import enqueue_after_commit
from jobs.recordings import idle_recordings_finish
from jobs.services import job_cleanup_artifacts
from jobs.transitions import job_reclaim, job_requeue_due

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
    return sum(job_requeue_due(job_id=job_id) is not None for job_id in list(due.values_list("pk", flat=True)[:BATCH]))


def _resend_stale_queued(now: dt.datetime) -> int:
    """A queued job nobody claimed for a while lost its task (a broker restart, a crash before enqueue):
    send it again. A duplicate task is harmless: only one claim can succeed. The job stays queued, so this is
    not a transition: only ``updated_at`` moves, and that is what makes each resend happen once."""
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
    for job_id, token in list(expired.values_list("pk", "lease_token")[:BATCH]):
        transition = job_reclaim(job_id=job_id, lease_token=token)
        if transition is None:
            continue
        if transition.to_status == Job.Status.QUEUED:
            reclaimed += 1
        elif transition.to_status == Job.Status.FAILED:
            failed += 1
        else:
            # Its worker died after the cancel was asked for: the files it left go, as the worker would have done.
            job_cleanup_artifacts(job_id=job_id)
    return reclaimed, failed
