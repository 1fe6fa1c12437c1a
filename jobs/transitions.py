"""Every change of a job's status, in one place: the state machine of a pipeline run.

    (new) ──────────── job_create_queued ──▶ queued
    (new) ──────────── job_create_failed ──▶ failed                 (AI switched off: refused at once)
    queued, retry_wait ───────── job_claim ──▶ running
    running ─────────── job_mark_succeeded ──▶ succeeded
    running ────────────── job_mark_failed ──▶ failed
    running ─────────── job_schedule_retry ──▶ retry_wait
    retry_wait ────────── job_requeue_due ──▶ queued                 (its retry is due)
    running ──────────────── job_reclaim ──▶ queued, crash counted   (its worker died: the lease ran out)
                                          ──▶ failed, WORKER_CRASHED (at the crash limit)
                                          ──▶ canceled               (a cancel was asked for)
    queued, retry_wait ─ job_request_cancel ─▶ canceled               (a running job only gets the request)
    queued, running, retry_wait ─ job_mark_canceled ─▶ canceled       (the worker stops after a cancel)
    failed, canceled ────────── job_requeue ──▶ queued                 (retry by hand)

Each function is one conditional UPDATE of the job row: on the lease token (and no cancel asked) for the moves
a worker makes, on the expected status otherwise. In the same transaction it writes the job's JobEvent, the
session's status (``sessions.services.session_set_status``), the end-of-job notification
(``jobs.notifications``) and calls the transition hooks (``on_transition``). When the condition no longer holds
(the lease was lost, the job moved on, was canceled or deleted) nothing is written and the function returns
None. A move into ``queued`` sends the job to the workers once it commits.

The dispatcher's re-sending of a queued job whose task was lost only touches ``updated_at``: the job stays
queued, so it is not a transition and lives in jobs/dispatch.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from jobs.models import Job, JobEvent
from jobs.notifications import notify_job_finished
from jobs.queue import enqueue_after_commit
from sessions.models import ClinicalSession
from sessions.services import session_set_status


@dataclass(frozen=True)
class Transition:
    """One move of a job, as the hooks see it: ids, statuses and codes, never PHI."""

    job_id: uuid.UUID
    session_id: uuid.UUID
    practice_id: uuid.UUID
    # None when the job was just created.
    from_status: Job.Status | None
    to_status: Job.Status
    # The job's stage once moved: where it stopped, or where it will resume.
    stage: Job.Stage
    # Who asked, for the moves a person makes (start, retry, cancel); None for the workers and the dispatcher.
    actor_id: uuid.UUID | None
    error_code: str
    at: dt.datetime


TransitionHook = Callable[[Transition], None]

_hooks: list[TransitionHook] = []


def on_transition(hook: TransitionHook) -> Callable[[], None]:
    """Call ``hook`` with every transition from now on; returns the function that stops it.

    The hook runs inside the transaction that moves the job, once the row, its event, the session's status and
    the notification are written: what it writes commits with the move or not at all, and an exception it
    raises undoes the move. Register from an ``AppConfig.ready()``.
    """
    _hooks.append(hook)

    def remove() -> None:
        if hook in _hooks:
            _hooks.remove(hook)

    return remove


# --- Creation ----------------------------------------------------------------------------------------


def job_create_queued(*, session: ClinicalSession, media_sha256: str, requested_by: User | None) -> Job:
    """A new run of the session's audio, queued. Raises IntegrityError when the session has an active job."""
    at = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            session=session, media_sha256=media_sha256, requested_by=requested_by, status=Job.Status.QUEUED
        )
        _record(
            job,
            from_status=None,
            at=at,
            actor=requested_by,
            event=JobEvent.Kind.CREATED,
            session_status=ClinicalSession.Status.PROCESSING,
        )
        enqueue_after_commit(job.pk)
    return job


def job_create_failed(
    *, session: ClinicalSession, media_sha256: str, requested_by: User | None, error_code: str, error_message: str
) -> Job:
    """A new run refused at once (AI switched off): it is created failed, so the refusal shows where people
    look, and nothing is sent to the workers."""
    at = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            session=session,
            media_sha256=media_sha256,
            requested_by=requested_by,
            status=Job.Status.FAILED,
            error_code=error_code[:40],
            error_message=error_message[:500],
            finished_at=at,
        )
        JobEvent.objects.create(job=job, kind=JobEvent.Kind.CREATED, stage=job.stage, actor=requested_by)
        _record(
            job,
            from_status=None,
            at=at,
            actor=requested_by,
            event=JobEvent.Kind.FAILED,
            event_stage="",
            event_message=error_code,
            session_status=ClinicalSession.Status.FAILED,
        )
    return job


# --- A worker's moves: conditional on its lease --------------------------------------------------------


def job_claim(
    *, job_id: uuid.UUID | str, lease_token: uuid.UUID, worker_id: str, lease_for: dt.timedelta
) -> Transition | None:
    """A worker takes a queued job, or a waiting one whose retry is due, under ``lease_token`` for
    ``lease_for``. None when another worker has it, it is not due, or a cancel was asked for."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.QUEUED, Job.Status.RETRY_WAIT),
            to_status=Job.Status.RUNNING,
            at=at,
            condition=Q(cancel_requested=False) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=at)),
            changes={
                "lease_token": lease_token,
                "lease_expires_at": at + lease_for,
                "heartbeat_at": at,
                "worker_id": worker_id[:100],
                "attempts": F("attempts") + 1,
                "started_at": Coalesce("started_at", at),
                "next_attempt_at": None,
            },
        )
        if moved is None:
            return None
        from_status, job = moved
        return _record(
            job, from_status=from_status, at=at, event=JobEvent.Kind.STARTED, event_message=f"attempt {job.attempts}"
        )


def job_mark_succeeded(*, job_id: uuid.UUID, lease_token: uuid.UUID) -> Transition | None:
    """The worker holding ``lease_token`` finished every stage; the session's note is ready."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.RUNNING,),
            to_status=Job.Status.SUCCEEDED,
            at=at,
            condition=_held_with(lease_token),
            changes={"finished_at": at, "lease_token": None, "error_code": "", "error_message": ""},
        )
        if moved is None:
            return None
        from_status, job = moved
        return _record(
            job,
            from_status=from_status,
            at=at,
            event=JobEvent.Kind.SUCCEEDED,
            session_status=ClinicalSession.Status.READY,
        )


def job_mark_failed(
    *, job_id: uuid.UUID, lease_token: uuid.UUID, error_code: str, error_message: str
) -> Transition | None:
    """The worker holding ``lease_token`` met a failure another attempt would not cure (or ran out of attempts);
    ``error_message`` is shown to the clinician."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.RUNNING,),
            to_status=Job.Status.FAILED,
            at=at,
            condition=_held_with(lease_token),
            changes={
                "finished_at": at,
                "lease_token": None,
                "error_code": error_code[:40],
                "error_message": error_message[:500],
            },
        )
        if moved is None:
            return None
        from_status, job = moved
        return _record(
            job,
            from_status=from_status,
            at=at,
            event=JobEvent.Kind.FAILED,
            event_message=f"{error_code}: {error_message}",
            session_status=ClinicalSession.Status.FAILED,
        )


def job_schedule_retry(
    *, job_id: uuid.UUID, lease_token: uuid.UUID, error_code: str, error_message: str, delay_seconds: float
) -> Transition | None:
    """The worker holding ``lease_token`` met a transient failure: the job waits ``delay_seconds`` and is then
    queued again by the dispatcher (``job_requeue_due``). The session stays processing."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.RUNNING,),
            to_status=Job.Status.RETRY_WAIT,
            at=at,
            condition=_held_with(lease_token),
            changes={
                "next_attempt_at": at + dt.timedelta(seconds=delay_seconds),
                "lease_token": None,
                "lease_expires_at": None,
                "error_code": error_code[:40],
                "error_message": error_message[:500],
            },
        )
        if moved is None:
            return None
        from_status, job = moved
        return _record(
            job,
            from_status=from_status,
            at=at,
            event=JobEvent.Kind.RETRY_SCHEDULED,
            event_message=f"{error_code}; next attempt in {delay_seconds:.0f} s",
        )


def job_mark_canceled(*, job_id: uuid.UUID) -> Transition | None:
    """End a job that was asked to stop, from whatever active status it is in (its worker found the cancel).
    None when it had already ended or is gone."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.RUNNING, Job.Status.QUEUED, Job.Status.RETRY_WAIT),
            to_status=Job.Status.CANCELED,
            at=at,
            changes={"finished_at": at, "lease_token": None},
        )
        if moved is None:
            return None
        from_status, job = moved
        return _stopped(job, from_status=from_status, at=at)


# --- A person's moves ----------------------------------------------------------------------------------


def job_request_cancel(*, job_id: uuid.UUID, requested_by: User | None) -> Transition | None:
    """Ask an active job to stop. A queued or waiting job is canceled now (the returned transition); a running
    one only gets the request, and its worker ends it (``job_mark_canceled``) at its next check."""
    at = timezone.now()
    with transaction.atomic():
        Job.objects.filter(pk=job_id, status__in=Job.ACTIVE_STATUSES).update(cancel_requested=True, updated_at=at)
        moved = _move(
            job_id,
            from_statuses=(Job.Status.QUEUED, Job.Status.RETRY_WAIT),
            to_status=Job.Status.CANCELED,
            at=at,
            changes={"finished_at": at},
        )
        if moved is None:
            return None
        from_status, job = moved
        return _record(
            job,
            from_status=from_status,
            at=at,
            actor=requested_by,
            event=JobEvent.Kind.CANCELED,
            session_status=ClinicalSession.Status.RECORDED,
        )


def job_requeue(*, job_id: uuid.UUID, requested_by: User | None) -> Transition | None:
    """Retry by hand: a failed or canceled job is queued again at the stage it stopped at, with its attempts and
    crashes counted afresh. Raises IntegrityError when the session has another active job."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.FAILED, Job.Status.CANCELED),
            to_status=Job.Status.QUEUED,
            at=at,
            changes={
                "attempts": 0,
                "crash_count": 0,
                "cancel_requested": False,
                "next_attempt_at": None,
                "error_code": "",
                "error_message": "",
                "finished_at": None,
            },
        )
        if moved is None:
            return None
        from_status, job = moved
        transition = _record(
            job,
            from_status=from_status,
            at=at,
            actor=requested_by,
            event=JobEvent.Kind.RETRIED,
            session_status=ClinicalSession.Status.PROCESSING,
        )
        enqueue_after_commit(job.pk)
    return transition


# --- The dispatcher's moves ----------------------------------------------------------------------------


def job_requeue_due(*, job_id: uuid.UUID) -> Transition | None:
    """A waiting job whose retry is due is queued again. No event: its ``retry_scheduled`` one said when."""
    at = timezone.now()
    with transaction.atomic():
        moved = _move(
            job_id,
            from_statuses=(Job.Status.RETRY_WAIT,),
            to_status=Job.Status.QUEUED,
            at=at,
            condition=Q(next_attempt_at__lte=at),
            changes={"next_attempt_at": None},
        )
        if moved is None:
            return None
        from_status, job = moved
        transition = _record(job, from_status=from_status, at=at)
        enqueue_after_commit(job.pk)
    return transition


def job_reclaim(*, job_id: uuid.UUID, lease_token: uuid.UUID | None) -> Transition | None:
    """A running job whose lease (``lease_token``) ran out lost its worker. It ends canceled if a cancel was
    asked for; it ends failed with WORKER_CRASHED at the ``JOB_MAX_CRASHES``-th loss, so that a job that kills
    its worker cannot loop; otherwise it is queued again with the loss counted. None when the lease was renewed
    in time or another dispatcher got there first."""
    at = timezone.now()
    expired = Q(lease_token=lease_token, lease_expires_at__lt=at)
    with transaction.atomic():
        row = (
            Job.objects.filter(expired, pk=job_id, status=Job.Status.RUNNING)
            .values("crash_count", "stage", "cancel_requested")
            .first()
        )
        if row is None:
            return None
        running = (Job.Status.RUNNING,)
        if row["cancel_requested"]:
            moved = _move(
                job_id,
                from_statuses=running,
                to_status=Job.Status.CANCELED,
                at=at,
                condition=expired,
                changes={"finished_at": at, "lease_token": None},
            )
            return None if moved is None else _stopped(moved[1], from_status=moved[0], at=at)
        crashes = row["crash_count"] + 1
        if crashes >= settings.JOB_MAX_CRASHES:
            message = (
                f"The job stopped its worker {crashes} times at the step “{Job.Stage(row['stage']).label}”, so it was "
                "ended to protect the service. Retry it; if it stops again, contact support."
            )
            moved = _move(
                job_id,
                from_statuses=running,
                to_status=Job.Status.FAILED,
                at=at,
                condition=expired,
                changes={
                    "crash_count": F("crash_count") + 1,
                    "lease_token": None,
                    "finished_at": at,
                    "error_code": "WORKER_CRASHED",
                    "error_message": message,
                },
            )
            if moved is None:
                return None
            return _record(
                moved[1],
                from_status=moved[0],
                at=at,
                event=JobEvent.Kind.FAILED,
                event_message="WORKER_CRASHED",
                session_status=ClinicalSession.Status.FAILED,
            )
        moved = _move(
            job_id,
            from_statuses=running,
            to_status=Job.Status.QUEUED,
            at=at,
            condition=expired,
            changes={"crash_count": F("crash_count") + 1, "lease_token": None, "lease_expires_at": None},
        )
        if moved is None:
            return None
        transition = _record(
            moved[1],
            from_status=moved[0],
            at=at,
            event=JobEvent.Kind.RECLAIMED,
            event_message=f"worker lost (crash {crashes})",
        )
        enqueue_after_commit(transition.job_id)
    return transition


# --- The one way each move is written ------------------------------------------------------------------


def _held_with(lease_token: uuid.UUID) -> Q:
    """The job is still the worker's: its lease token, and nobody asked it to stop."""
    return Q(lease_token=lease_token, cancel_requested=False)


def _move(
    job_id: uuid.UUID | str,
    *,
    from_statuses: Sequence[Job.Status],
    to_status: Job.Status,
    at: dt.datetime,
    changes: dict[str, Any],
    condition: Q | None = None,
) -> tuple[Job.Status, Job] | None:
    """The conditional UPDATE, tried from each expected status in turn so that the status the job left is known
    exactly. Returns that status and the job as it now is, or None when the job is in none of them (or the
    condition no longer holds)."""
    for from_status in from_statuses:
        matched = Job.objects.filter(condition or Q(), pk=job_id, status=from_status).update(
            status=to_status, updated_at=at, **changes
        )
        if matched:
            return from_status, Job.objects.select_related("session").get(pk=job_id)
    return None


def _stopped(job: Job, *, from_status: Job.Status, at: dt.datetime) -> Transition:
    """Record the end of a job stopped after a cancel (by its worker, or for its dead worker)."""
    return _record(
        job,
        from_status=from_status,
        at=at,
        event=JobEvent.Kind.CANCELED,
        event_stage="",
        event_message="stopped",
        session_status=ClinicalSession.Status.RECORDED,
    )


def _record(
    job: Job,
    *,
    from_status: Job.Status | None,
    at: dt.datetime,
    actor: User | None = None,
    event: JobEvent.Kind | None = None,
    event_stage: str | None = None,
    event_message: str = "",
    session_status: ClinicalSession.Status | None = None,
) -> Transition:
    """Everything a move writes besides the job row, in the caller's transaction, then the hooks."""
    if event is not None:
        JobEvent.objects.create(
            job=job,
            kind=event,
            stage=job.stage if event_stage is None else event_stage,
            message=event_message[:500],
            actor=actor,
        )
    if session_status is not None:
        session_set_status(session_id=job.session_id, status=session_status, at=at)
    to_status = Job.Status(job.status)
    if to_status in Job.FINISHED_STATUSES:
        notify_job_finished(job.pk)
    transition = Transition(
        job_id=job.pk,
        session_id=job.session_id,
        practice_id=job.session.practice_id,
        from_status=from_status,
        to_status=to_status,
        stage=Job.Stage(job.stage),
        actor_id=actor.pk if actor is not None else None,
        error_code=job.error_code,
        at=at,
    )
    for hook in tuple(_hooks):
        hook(transition)
    return transition
