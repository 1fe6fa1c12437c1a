"""The retention purge: deletes what has outlived its retention period, and stored files that nothing refers to.

What goes, and when:

- a recording's audio, once the job that transcribed it succeeded that long ago: the practice's choice
  (``Practice.audio_retention_days``) or else ``AUDIO_RETENTION_HOURS``. Only when the session has a transcript of
  that very audio, its latest finished job succeeded on that audio and no job is active; the Recording row stays,
  with ``purged_at`` set and no file;
- artifacts past their time: the practice's choice (``Practice.artifact_ttl_days`` after they were made) or else
  ``expires_at`` (``ARTIFACT_TTL_DAYS`` after), unless their job is active;
- job events older than ``JOB_EVENT_RETENTION_DAYS`` of finished jobs, and django-q2's task results (successes and
  failures) older than ``TASK_RESULT_RETENTION_DAYS``. django-q2's queue rows (``OrmQ``) are not touched: the broker
  deletes a row when its task is acknowledged, and with ``ack_failures`` and ``max_attempts`` every task ends
  acknowledged, so a row still there is a delivery still due;
- the parts of a recording made in the browser that was never assembled and received nothing for
  ``AUDIO_RETENTION_HOURS`` (``sessions.parts``; the dispatcher assembles idle recordings long before, so these are
  parts that could not be);
- audit events older than ``AUDIT_RETENTION_DAYS`` (six years by default), and never younger ones;
- files under ``practices/`` (and readiness probes under ``health/``) that no Recording, RecordingPart or Artifact
  row names, once
  older than ``ORPHAN_GRACE_MINUTES`` (a file is written before its row, so a younger one may be about to get its
  row), among them the temporary files of writers that were killed mid-write (``config.storage``).

Every deletion follows one crash-safe order: mark the row, delete the file, then finish the row. A run first
finishes what an interrupted run left marked, so a purge may stop anywhere and the next one completes it without
ever touching a live row. Work goes by batches of ids (``PURGE_BATCH_SIZE``): memory and the number of queries grow
with the number of batches, not of rows.

One purge runs at a time: on PostgreSQL a second one finds the advisory lock taken; elsewhere (SQLite) the
unfinished PurgeRun row is the lock. The second run returns at once, recorded with ``skipped``. Overlapping runs
would still be safe (every step is a conditional update), only wasteful.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypedDict, TypeVar

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django_q.models import Task

from accounts.audit import audit_events_delete_past_retention, audit_events_past_retention
from accounts.models import IdempotencyRecord, Practice, RateLimitCounter
from config.storage import is_temp_name
from jobs.models import Artifact, Job, JobEvent, PurgeRun
from sessions.models import Recording, RecordingPart, Transcript
from sessions.parts import recording_parts_purge_abandoned

logger = logging.getLogger(__name__)

# The folders the sweep walks: every stored file of a practice lives under the first (session_storage_prefix), and
# the readiness probe (config.health) writes and at once deletes its files in the second. Nothing else is touched.
SWEPT_FOLDERS = ("practices/", "health/")
# Any constant unique to the purge among the application's advisory locks.
ADVISORY_LOCK_KEY = 0x5E55_5C12_1BE0_0001
# Where the PurgeRun row is the lock, a run that has not finished after this long is taken to have died.
RUNNING_PURGE_STALE_AFTER = dt.timedelta(minutes=30)

_ModelT = TypeVar("_ModelT", bound=models.Model)


class PurgeCounts(TypedDict):
    recordings_audio: int
    artifacts: int
    recording_parts: int
    job_events: int
    task_rows: int
    api_records: int
    audit_events: int
    orphan_files: int
    temp_files: int
    # 1 when another purge was running and this one did nothing.
    skipped: int
    # 1 when the run stopped on an error; the counts say what it did before.
    interrupted: int


def _zero_counts() -> PurgeCounts:
    return PurgeCounts(
        recordings_audio=0,
        artifacts=0,
        recording_parts=0,
        job_events=0,
        task_rows=0,
        api_records=0,
        audit_events=0,
        orphan_files=0,
        temp_files=0,
        skipped=0,
        interrupted=0,
    )


def purge_run(*, dry_run: bool = False, now: dt.datetime | None = None) -> PurgeRun:
    """Delete everything past its retention (``dry_run``: only count it) and record the pass as a PurgeRun.

    ``now`` is the moment the retention periods are measured from (the current time unless given).
    """
    now = now or timezone.now()
    if dry_run:
        # A dry run changes nothing, so it needs no lock.
        return _execute(PurgeRun.objects.create(dry_run=True), now=now, dry_run=True)
    with _exclusive_run() as run:
        if run is None:
            logger.info("purge skipped: another purge is running")
            return PurgeRun.objects.create(
                dry_run=False, finished_at=timezone.now(), counts={**_zero_counts(), "skipped": 1}
            )
        return _execute(run, now=now, dry_run=False)


def purge_scheduled() -> dict[str, int]:
    """The hourly schedule's entry point (jobs.schedules). Returns the counts, which django-q2 keeps as the result."""
    return dict(purge_run().counts)


@contextmanager
def _exclusive_run() -> Iterator[PurgeRun | None]:
    """The PurgeRun of this pass, or None when another purge is running."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            row = cursor.fetchone()
        if not (row and row[0]):
            yield None
            return
        try:
            yield PurgeRun.objects.create(dry_run=False)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        return
    # SQLite takes its write lock at BEGIN (transaction_mode IMMEDIATE), so the check and the insert of the
    # unfinished row cannot interleave with another run's.
    with transaction.atomic():
        running = PurgeRun.objects.filter(
            dry_run=False, finished_at__isnull=True, started_at__gt=timezone.now() - RUNNING_PURGE_STALE_AFTER
        ).exists()
        run = None if running else PurgeRun.objects.create(dry_run=False)
    yield run


def _execute(run: PurgeRun, *, now: dt.datetime, dry_run: bool) -> PurgeRun:
    counts = _zero_counts()
    batch = max(1, settings.PURGE_BATCH_SIZE)
    try:
        _purge_recordings(counts, now=now, dry_run=dry_run, batch=batch)
        _purge_artifacts(counts, now=now, dry_run=dry_run, batch=batch)
        counts["recording_parts"] = recording_parts_purge_abandoned(
            now=now, older_than=dt.timedelta(hours=settings.AUDIO_RETENTION_HOURS), dry_run=dry_run
        )
        _purge_job_events(counts, now=now, dry_run=dry_run, batch=batch)
        _purge_task_rows(counts, now=now, dry_run=dry_run, batch=batch)
        _purge_api_records(counts, now=now, dry_run=dry_run, batch=batch)
        _purge_audit_events(counts, now=now, dry_run=dry_run, batch=batch)
        _sweep_files(counts, now=now, dry_run=dry_run, batch=batch)
    except BaseException:
        counts["interrupted"] = 1
        raise
    finally:
        run.counts = dict(counts)
        run.finished_at = timezone.now()
        run.save(update_fields=["counts", "finished_at"])
        logger.info("purge%s: %s", " (dry run)" if dry_run else "", dict(counts))
    return run


def _draining_batches(queryset: models.QuerySet[_ModelT], size: int) -> Iterator[list[Any]]:
    """Primary keys of the queryset, ``size`` at a time, for a loop that takes every batch out of the queryset
    (deletes or marks its rows). Unordered on purpose: with an ORDER BY the database may sort every remaining row
    for each batch when its statistics lead it away from an index in that order (see docs/performance.md).
    A row that comes back in the next batch could not be taken out (a job started meanwhile): the loop stops there
    and leaves the rest to the next run rather than spin."""
    previous: set[Any] = set()
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:size])
        if not ids or not previous.isdisjoint(ids):
            return
        yield ids
        previous = set(ids)


def _id_batches(queryset: models.QuerySet[_ModelT], size: int) -> Iterator[list[Any]]:
    """The queryset's primary keys, ``size`` at a time, by keyset pagination: for rows that may stay in the
    queryset after their batch (a file that could not be deleted leaves its row marked)."""
    last: Any = None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        if len(ids) < size:
            return
        last = ids[-1]


def _delete_stored_file(name: str) -> bool:
    try:
        default_storage.delete(name)
    except OSError:
        # Stored names are made of ids only. The row stays marked and the next run tries again.
        logger.warning("purge could not delete stored file %s", name, exc_info=True)
        return False
    return True


# --- Recordings ------------------------------------------------------------------------------


def chosen_days(field: str) -> list[int]:
    """The distinct retentions practices chose in ``field`` of Practice: a few values however many practices, read
    once per pass rather than once per batch."""
    chosen = Practice.objects.filter(**{f"{field}__isnull": False}).order_by().values_list(field, flat=True)
    return sorted(set(chosen))


def _per_practice_cutoff(
    practice_field: str, moment_field: str, *, now: dt.datetime, chosen: Sequence[int], default: Q
) -> Q:
    """``moment_field`` is past the retention of the row's practice: the days it chose in ``practice_field``
    (one of ``chosen``), else ``default`` (the server's setting)."""
    if not chosen:
        # No practice chose its own: the server's rule alone, with no join to the practice, which lets the database
        # read the expired rows through their own index instead of walking practice → sessions → jobs → rows.
        return default
    condition = Q(**{f"{practice_field}__isnull": True}) & default
    for days in chosen:
        condition |= Q(**{practice_field: days, f"{moment_field}__lte": now - dt.timedelta(days=days)})
    return condition


def recordings_due(now: dt.datetime, chosen: Sequence[int] | None = None) -> models.QuerySet[Recording]:
    """Recordings whose audio has served its purpose and is past its practice's retention (``AUDIO_RETENTION_HOURS``
    when the practice chose none). ``chosen``: the practices' choices, ``chosen_days("audio_retention_days")``."""
    if chosen is None:
        chosen = chosen_days("audio_retention_days")
    cutoff = now - dt.timedelta(hours=settings.AUDIO_RETENTION_HOURS)
    session_jobs = Job.objects.filter(session_id=OuterRef("session_id"))
    # The latest outcome counts, not the latest created job: a failed job retried by hand finishes last.
    latest_finished = session_jobs.filter(status__in=Job.FINISHED_STATUSES, finished_at__isnull=False).order_by(
        "-finished_at", "-created_at"
    )
    return (
        Recording.objects.filter(purged_at__isnull=True)
        .exclude(file="")
        .alias(
            latest_status=Subquery(latest_finished.values("status")[:1]),
            latest_media=Subquery(latest_finished.values("media_sha256")[:1]),
            latest_finished_at=Subquery(latest_finished.values("finished_at")[:1]),
        )
        .filter(
            # A recording replaced after the transcript was made has not been transcribed: it is kept.
            Exists(Transcript.objects.filter(session_id=OuterRef("session_id"), media_sha256=OuterRef("sha256"))),
            ~Exists(session_jobs.filter(status__in=Job.ACTIVE_STATUSES)),
            _per_practice_cutoff(
                "session__practice__audio_retention_days",
                "latest_finished_at",
                now=now,
                chosen=chosen,
                default=Q(latest_finished_at__lte=cutoff),
            ),
            latest_status=Job.Status.SUCCEEDED,
            latest_media=F("sha256"),
        )
    )


def _purge_recordings(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    half_done = Recording.objects.filter(purged_at__isnull=False).exclude(file="")
    chosen = chosen_days("audio_retention_days")
    if dry_run:
        counts["recordings_audio"] = half_done.count() + recordings_due(now, chosen).count()
        return
    for ids in _id_batches(half_done, batch):
        counts["recordings_audio"] += _finish_recordings(ids)
    for ids in _draining_batches(recordings_due(now, chosen), batch):
        # The conditions are checked again as the rows are marked: a job may have started since the ids were read.
        recordings_due(now, chosen).filter(pk__in=ids).update(purged_at=timezone.now())
        counts["recordings_audio"] += _finish_recordings(ids)


def _finish_recordings(ids: list[Any]) -> int:
    marked = Recording.objects.filter(pk__in=ids, purged_at__isnull=False).exclude(file="")
    done = [pk for pk, name in marked.values_list("pk", "file") if _delete_stored_file(name)]
    Recording.objects.filter(pk__in=done).update(file="")
    return len(done)


# --- Artifacts -------------------------------------------------------------------------------


def artifacts_due(now: dt.datetime, chosen: Sequence[int] | None = None) -> models.QuerySet[Artifact]:
    """Artifacts past their practice's retention (their ``expires_at`` when the practice chose none) whose job is
    not active (a running stage may still read them). ``chosen``: ``chosen_days("artifact_ttl_days")``."""
    if chosen is None:
        chosen = chosen_days("artifact_ttl_days")
    # NOT EXISTS rather than a join: it lets the database stop scanning as soon as a batch is full.
    active_job = Job.objects.filter(pk=OuterRef("job_id"), status__in=Job.ACTIVE_STATUSES)
    expired = _per_practice_cutoff(
        "job__session__practice__artifact_ttl_days",
        "created_at",
        now=now,
        chosen=chosen,
        default=Q(expires_at__lte=now),
    )
    return Artifact.objects.filter(expired).filter(~Exists(active_job))


def _purge_artifacts(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    # A row marked by an interrupted run is finished whatever its job does now: its file may already be gone, and
    # without the row a stage makes the artifact again instead of trusting a missing file.
    half_done = Artifact.objects.filter(purging_at__isnull=False)
    chosen = chosen_days("artifact_ttl_days")
    fresh = artifacts_due(now, chosen).filter(purging_at__isnull=True)
    if dry_run:
        counts["artifacts"] = half_done.count() + fresh.count()
        return
    for ids in _id_batches(half_done, batch):
        counts["artifacts"] += _finish_artifacts(ids)
    for ids in _draining_batches(fresh, batch):
        artifacts_due(now, chosen).filter(pk__in=ids, purging_at__isnull=True).update(purging_at=timezone.now())
        counts["artifacts"] += _finish_artifacts(ids)


def _finish_artifacts(ids: list[Any]) -> int:
    marked = Artifact.objects.filter(pk__in=ids, purging_at__isnull=False).values_list("pk", "storage_name")
    done = [pk for pk, name in marked if not name or _delete_stored_file(name)]
    Artifact.objects.filter(pk__in=done).delete()
    return len(done)


# --- Job events and task results ---------------------------------------------------------------


def _purge_job_events(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    cutoff = now - dt.timedelta(days=settings.JOB_EVENT_RETENTION_DAYS)
    finished_job = Job.objects.filter(pk=OuterRef("job_id"), status__in=Job.FINISHED_STATUSES)
    old = JobEvent.objects.filter(Exists(finished_job), created_at__lt=cutoff)
    if dry_run:
        counts["job_events"] = old.count()
        return
    for ids in _draining_batches(old, batch):
        deleted, _ = JobEvent.objects.filter(pk__in=ids).delete()
        counts["job_events"] += deleted


def _purge_api_records(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    """Idempotency records past their time-to-live (their stored answers can hold client labels) and rate-limit
    windows that ended over a day ago."""
    expired_keys = IdempotencyRecord.objects.filter(
        created_at__lt=now - dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    )
    old_windows = RateLimitCounter.objects.filter(window_start__lt=int((now - dt.timedelta(days=1)).timestamp()))
    if dry_run:
        counts["api_records"] = expired_keys.count() + old_windows.count()
        return
    for model, queryset in ((IdempotencyRecord, expired_keys), (RateLimitCounter, old_windows)):
        for ids in _draining_batches(queryset, batch):
            deleted, _ = model.objects.filter(pk__in=ids).delete()
            counts["api_records"] += deleted


def _purge_audit_events(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    """Audit events past ``AUDIT_RETENTION_DAYS``, through the one deletion the trail allows."""
    old = audit_events_past_retention(now)
    if dry_run:
        counts["audit_events"] = old.count()
        return
    for ids in _draining_batches(old, batch):
        counts["audit_events"] += audit_events_delete_past_retention(ids, now=now)


def _purge_task_rows(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    cutoff = now - dt.timedelta(days=settings.TASK_RESULT_RETENTION_DAYS)
    old = Task.objects.filter(stopped__lt=cutoff)
    if dry_run:
        counts["task_rows"] = old.count()
        return
    for ids in _draining_batches(old, batch):
        deleted, _ = Task.objects.filter(pk__in=ids).delete()
        counts["task_rows"] += deleted


# --- Files without rows ----------------------------------------------------------------------


def _sweep_files(counts: PurgeCounts, *, now: dt.datetime, dry_run: bool, batch: int) -> None:
    cutoff = now - dt.timedelta(minutes=settings.ORPHAN_GRACE_MINUTES)
    # Listing folder by folder works on local storage and on S3 alike and holds one folder's names at a time.
    folders = list(SWEPT_FOLDERS)
    while folders:
        folder = folders.pop()
        try:
            subfolders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        folders.extend(f"{folder}{name}/" for name in subfolders)
        for start in range(0, len(files), batch):
            names = [f"{folder}{name}" for name in files[start : start + batch]]
            _sweep_names(counts, names, cutoff=cutoff, dry_run=dry_run)


def _sweep_names(counts: PurgeCounts, names: list[str], *, cutoff: dt.datetime, dry_run: bool) -> None:
    old = [name for name in names if _modified_before(name, cutoff)]
    temporary = [name for name in old if is_temp_name(posixpath.basename(name))]
    candidates = [name for name in old if not is_temp_name(posixpath.basename(name))]
    referenced: set[str] = set()
    if candidates:
        referenced.update(Recording.objects.filter(file__in=candidates).values_list("file", flat=True))
        referenced.update(Artifact.objects.filter(storage_name__in=candidates).values_list("storage_name", flat=True))
        referenced.update(
            RecordingPart.objects.filter(storage_name__in=candidates).values_list("storage_name", flat=True)
        )
    for name in temporary:
        if dry_run or _delete_stored_file(name):
            counts["temp_files"] += 1
    for name in candidates:
        if name not in referenced and (dry_run or _delete_stored_file(name)):
            counts["orphan_files"] += 1


def _modified_before(name: str, cutoff: dt.datetime) -> bool:
    try:
        return default_storage.get_modified_time(name) < cutoff
    except FileNotFoundError:
        # Deleted since the folder was listed.
        return False
