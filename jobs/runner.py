"""Running one job: claim it, hold its lease, run its stages in order, record how it ended.

Every change a worker makes to a job row is a conditional update on the lease token it claimed with: its
status through jobs.transitions, its stage and progress through ``Lease.update``. A worker that lost its lease
(it was too slow, or the job was canceled or deleted) finds its update matched nothing and stops; it never
saves a loaded instance, so it cannot bring back a job that someone else changed or deleted.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.backoff import backoff_seconds
from config.log_context import log_context
from config.metrics import JOB_STAGE_SECONDS
from jobs import transitions
from jobs.artifacts import artifact_delete_files_rollback_unsafe, artifact_sweep_temporaries, job_storage_prefix
from jobs.audit import audit_stage_handover
from jobs.models import Artifact, Job, JobEvent
from jobs.providers.base import ProviderError

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """This worker no longer owns the job; it must stop without writing anything more."""


class JobCanceled(Exception):
    """The job was canceled, or its session deleted, while it ran."""


class PermanentFailure(Exception):
    """A failure that another attempt would repeat; the message is shown to the clinician."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _lease_delta() -> dt.timedelta:
    return dt.timedelta(seconds=settings.JOB_LEASE_SECONDS)


@dataclass
class Lease:
    """A claimed job: its id, the token every write is conditional on, and the helpers that write."""

    job_id: uuid.UUID
    token: uuid.UUID
    worker_id: str
    # The job's storage folder, kept so that a job deleted under us can still have its files removed.
    storage_prefix: str = ""
    practice_id: uuid.UUID | None = None
    _heartbeat_stop: threading.Event = field(default_factory=threading.Event)
    # Timings of steps within the stage under way, recorded with the stage's own when it ends.
    _step_timings: dict[str, float] = field(default_factory=dict)

    def _mine(self) -> Any:
        return Job.objects.filter(
            pk=self.job_id, lease_token=self.token, status=Job.Status.RUNNING, cancel_requested=False
        )

    def load(self) -> Job:
        """The job as it is now; raises if it was canceled, deleted, or is no longer ours."""
        job = Job.objects.select_related("session", "session__practice").filter(pk=self.job_id).first()
        if job is None:
            raise JobCanceled("the job was deleted")
        if job.cancel_requested or job.status == Job.Status.CANCELED:
            raise JobCanceled("the job was canceled")
        if job.lease_token != self.token or job.status != Job.Status.RUNNING:
            raise LeaseLost()
        return job

    def update(self, **fields: Any) -> None:
        """Write fields of the job other than its status (stage, progress, timings); a status changes only
        through jobs.transitions."""
        if "status" in fields:
            raise ValueError("a job's status changes only through jobs.transitions")
        fields.setdefault("updated_at", timezone.now())
        if not self._mine().update(**fields):
            self.lost()

    def lost(self) -> NoReturn:
        """Raise why a write conditional on this lease matched nothing: JobCanceled, or else LeaseLost."""
        self.load()
        raise LeaseLost()

    def renew(self) -> bool:
        now = timezone.now()
        return bool(self._mine().update(lease_expires_at=now + _lease_delta(), heartbeat_at=now))

    def progress(self, done: int, total: int) -> None:
        self.update(progress={"done": done, "total": total})

    def event(self, kind: str, *, stage: str = "", message: str = "") -> None:
        JobEvent.objects.create(job_id=self.job_id, kind=kind, stage=stage, message=message[:500])

    def record_timing(self, step: str, seconds: float) -> None:
        """Seconds a step within the current stage took (the cut of the chunks), kept in the job's timings with
        the stage's own when the stage ends."""
        self._step_timings[step] = seconds


def job_claim(job_id: uuid.UUID | str, *, worker_id: str | None = None) -> Lease | None:
    """Take the job if it is queued, or due for a retry; None if another worker has it or it is not due."""
    token = uuid.uuid4()
    claimed = transitions.job_claim(
        job_id=job_id, lease_token=token, worker_id=worker_id or worker_identity(), lease_for=_lease_delta()
    )
    if claimed is None:
        return None
    job = Job.objects.select_related("session").get(pk=claimed.job_id)
    return Lease(
        job_id=job.pk,
        token=token,
        worker_id=job.worker_id,
        storage_prefix=job_storage_prefix(job),
        practice_id=claimed.practice_id,
    )


class _Heartbeat:
    """Renews the lease in the background while a stage works; stops when the lease is gone."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{lease.job_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lease._heartbeat_stop.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        interval = max(settings.JOB_LEASE_SECONDS / 3, 0.5)
        try:
            while not self.lease._heartbeat_stop.wait(interval):
                try:
                    renewed = self.lease.renew()
                except DatabaseError:
                    # A busy database is not a lost lease: try again at the next beat, well before expiry.
                    logger.warning("job %s: heartbeat could not reach the database", self.lease.job_id)
                    continue
                if not renewed:
                    return
        finally:
            connection.close()


StageFunction = Callable[[Job, Lease], "str | None"]


def job_execute(job_id: uuid.UUID | str, *, stages: dict[str, StageFunction], worker_id: str | None = None) -> None:
    """Claim the job and run its stages from the one it stopped at; a no-op if it cannot be claimed."""
    with log_context(job_id=job_id):
        lease = job_claim(job_id, worker_id=worker_id)
        if lease is None:
            return
        with log_context(practice_id=lease.practice_id):
            if lease.storage_prefix:
                artifact_sweep_temporaries(lease.storage_prefix)
            _execute_claimed(lease, stages)


def _execute_claimed(lease: Lease, stages: dict[str, StageFunction]) -> None:
    with _Heartbeat(lease):
        try:
            _run_stages(lease, stages)
        except LeaseLost:
            logger.warning("job %s: lease lost, stopping without further writes", lease.job_id)
        except Exception as error:  # noqa: BLE001 — every failure is classified and recorded on the job
            if isinstance(error, JobCanceled) or _stopped_under_us(lease):
                job_finish_canceled(lease.job_id, storage_prefix=lease.storage_prefix)
                return
            try:
                _record_failure(lease, error)
            except (LeaseLost, JobCanceled):
                logger.warning("job %s: stopped while its failure was being recorded", lease.job_id)


def _stopped_under_us(lease: Lease) -> bool:
    """True when the failure came from the job being canceled or deleted (e.g. a row insert that found no job)."""
    job = Job.objects.filter(pk=lease.job_id).values("cancel_requested", "status").first()
    return job is None or bool(job["cancel_requested"]) or job["status"] == Job.Status.CANCELED


def _record_failure(lease: Lease, error: Exception) -> None:
    """Permanent failures end the job; retryable ones wait; anything unexpected is logged (type only, no PHI)
    and retried, up to the attempt limit."""
    if isinstance(error, PermanentFailure):
        _fail(lease, error.code, error.message)
    elif isinstance(error, ProviderError) and not error.retryable:
        _fail(lease, error.code.upper(), error.message)
    elif isinstance(error, ProviderError):
        _retry_or_fail(lease, error.code.upper(), error.message, error.retry_after)
    else:
        logger.error("job %s: unexpected %s", lease.job_id, type(error).__name__, exc_info=settings.DEBUG)
        _retry_or_fail(lease, "INTERNAL_ERROR", "An unexpected error stopped the job; it will be retried.", None)


def _run_stages(lease: Lease, stages: dict[str, StageFunction]) -> None:
    while True:
        job = lease.load()
        if job.stage == Job.Stage.DONE:
            break
        started = time.monotonic()
        # The audit trail records each handover of the session's audio or transcript to a provider.
        audit_stage_handover(job)
        next_stage = stages[job.stage](job, lease) or _following(job.stage)
        elapsed = round(time.monotonic() - started, 3)
        JOB_STAGE_SECONDS.labels(stage=str(job.stage)).observe(elapsed)
        timings = {**job.timings, **lease._step_timings, job.stage: elapsed}
        lease._step_timings.clear()
        lease.update(stage=next_stage, progress={}, timings=timings)
        lease.event(JobEvent.Kind.STAGE, stage=job.stage, message=f"{Job.Stage(job.stage).label} finished")
    _succeed(lease)


def _following(stage: str) -> str:
    order = list(Job.STAGE_ORDER)
    return order[order.index(Job.Stage(stage)) + 1]


def _succeed(lease: Lease) -> None:
    with transaction.atomic():
        if transitions.job_mark_succeeded(job_id=lease.job_id, lease_token=lease.token) is None:
            lease.lost()
        _drop_chunk_audio(lease.job_id)


def _drop_chunk_audio(job_id: uuid.UUID) -> None:
    """Once the transcript is committed the cut audio has served: its files go with the job's success, so the
    recording's retention (AUDIO_RETENTION_HOURS) is the only one that keeps audio. The rows stay, as the record
    of what was sent."""
    names = list(
        Artifact.objects.filter(job_id=job_id, kind=Artifact.Kind.CHUNK_AUDIO)
        .exclude(storage_name="")
        .values_list("storage_name", flat=True)
    )
    Artifact.objects.filter(job_id=job_id, kind=Artifact.Kind.CHUNK_AUDIO).update(storage_name="")
    transaction.on_commit(functools.partial(artifact_delete_files_rollback_unsafe, names))


def _fail(lease: Lease, code: str, message: str) -> None:
    failed = transitions.job_mark_failed(
        job_id=lease.job_id, lease_token=lease.token, error_code=code, error_message=message
    )
    if failed is None:
        lease.lost()


def _retry_or_fail(lease: Lease, code: str, message: str, retry_after: float | None) -> None:
    job = Job.objects.filter(pk=lease.job_id).first()
    if job is None:
        return
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        _fail(lease, code, f"{message} Gave up after {job.attempts} attempts.")
        return
    delay = backoff_seconds(
        job.attempts,
        base=settings.JOB_BACKOFF_BASE_SECONDS,
        cap=settings.JOB_BACKOFF_CAP_SECONDS,
        retry_after=retry_after,
    )
    scheduled = transitions.job_schedule_retry(
        job_id=lease.job_id, lease_token=lease.token, error_code=code, error_message=message, delay_seconds=delay
    )
    if scheduled is None:
        lease.lost()


def job_finish_canceled(job_id: uuid.UUID, *, storage_prefix: str | None) -> None:
    """Mark a canceled job finished and remove what it stored; harmless if the job is gone."""
    from jobs.services import job_cleanup_artifacts

    transitions.job_mark_canceled(job_id=job_id)
    job_cleanup_artifacts(job_id=job_id, prefix=storage_prefix)
