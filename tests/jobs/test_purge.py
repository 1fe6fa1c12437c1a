"""The retention purge deletes what is past its time, keeps everything else, and survives being interrupted."""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Failure, Schedule, Success, Task

from config.storage import AtomicFileSystemStorage
from jobs import purge
from jobs.models import Artifact, Job, JobEvent, PurgeRun
from jobs.purge import purge_run, purge_scheduled
from jobs.schedules import ensure_schedules
from sessions.models import ClinicalSession, Recording, Transcript, session_storage_prefix
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db

AUDIO_SHA = "a" * 64
COUNTED = ("recordings_audio", "artifacts", "job_events", "task_rows", "api_records", "orphan_files", "temp_files")


@pytest.fixture(autouse=True)
def _own_storage(settings, tmp_path):
    """Each test sees only its own files: the purge walks the whole storage."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "config.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "file_permissions_mode": 0o600},
        },
    }


# --- Building blocks -------------------------------------------------------------------------


def _stored(name: str, content: bytes = b"data") -> str:
    return default_storage.save(name, ContentFile(content))


def _exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def _age(name: str, by: dt.timedelta) -> None:
    moment = (timezone.now() - by).timestamp()
    os.utime(default_storage.path(name), (moment, moment))


def _recording(session: ClinicalSession, *, sha: str = AUDIO_SHA) -> Recording:
    recording_id = uuid.uuid4()
    name = _stored(f"{session_storage_prefix(session)}recording-{recording_id}.webm", b"opus audio")
    return Recording.objects.create(
        id=recording_id,
        session=session,
        file=name,
        original_filename="visit.webm",
        content_type="audio/webm",
        bytes=10,
        sha256=sha,
        duration_seconds=60.0,
        codec="opus",
        container="matroska,webm",
    )


def _job(
    session: ClinicalSession, status: str, *, finished_ago: dt.timedelta | None = None, sha: str = AUDIO_SHA
) -> Job:
    finished = status in Job.FINISHED_STATUSES
    return Job.objects.create(
        session=session,
        media_sha256=sha,
        status=status,
        stage=Job.Stage.DONE if status == Job.Status.SUCCEEDED else Job.Stage.TRANSCRIBE,
        finished_at=timezone.now() - (finished_ago or dt.timedelta(0)) if finished else None,
    )


def _transcribed_session(*, finished_ago: dt.timedelta, sha: str = AUDIO_SHA) -> tuple[ClinicalSession, Recording]:
    """A session whose audio was transcribed by a job that succeeded ``finished_ago``."""
    session = ClinicalSessionFactory()
    recording = _recording(session, sha=sha)
    Transcript.objects.create(session=session, media_sha256=sha, model="whisper-1", text="…")
    _job(session, Job.Status.SUCCEEDED, finished_ago=finished_ago, sha=sha)
    return session, recording


def _artifact(job: Job, *, expires_in: dt.timedelta, with_file: bool = True, key: str = "") -> Artifact:
    key = key or uuid.uuid4().hex[:12]
    name = _stored(f"{session_storage_prefix(job.session)}jobs/{job.pk}/chunk_audio-{key}.ogg") if with_file else ""
    return Artifact.objects.create(
        job=job, kind=Artifact.Kind.CHUNK_AUDIO, key=key, storage_name=name, expires_at=timezone.now() + expires_in
    )


def _finished_job() -> Job:
    return _job(ClinicalSessionFactory(), Job.Status.SUCCEEDED, finished_ago=dt.timedelta(days=1))


def _audio_is_purged(recording: Recording) -> bool:
    name = recording.file.name
    recording.refresh_from_db()
    return recording.purged_at is not None and recording.file.name == "" and not _exists(name)


def _audio_is_kept(recording: Recording) -> bool:
    recording.refresh_from_db()
    return recording.purged_at is None and _exists(recording.file.name)


HOURS_PAST_RETENTION = dt.timedelta(hours=73)  # AUDIO_RETENTION_HOURS is 72 by default


# --- Recording audio -------------------------------------------------------------------------


def test_audio_is_purged_once_the_retention_has_passed_since_the_successful_job():
    _, recording = _transcribed_session(finished_ago=HOURS_PAST_RETENTION)

    run = purge_run()

    assert _audio_is_purged(recording)
    assert Recording.objects.filter(pk=recording.pk).exists()
    assert run.counts["recordings_audio"] == 1


def test_audio_is_kept_until_the_retention_has_passed(settings):
    settings.AUDIO_RETENTION_HOURS = 2
    _, young = _transcribed_session(finished_ago=dt.timedelta(hours=1))
    _, old = _transcribed_session(finished_ago=dt.timedelta(hours=3))

    purge_run()

    assert _audio_is_kept(young)
    assert _audio_is_purged(old)


def test_audio_is_kept_while_the_session_has_an_active_job():
    session, recording = _transcribed_session(finished_ago=HOURS_PAST_RETENTION)
    for status in Job.ACTIVE_STATUSES:
        Job.objects.filter(session=session, status__in=Job.ACTIVE_STATUSES).delete()
        _job(session, status)

        purge_run()

        assert _audio_is_kept(recording), status


def test_audio_is_kept_when_the_latest_finished_job_failed():
    session, recording = _transcribed_session(finished_ago=HOURS_PAST_RETENTION)
    _job(session, Job.Status.FAILED, finished_ago=dt.timedelta(hours=1))

    purge_run()

    assert _audio_is_kept(recording)


def test_audio_is_kept_when_the_session_has_no_transcript():
    session = ClinicalSessionFactory()
    recording = _recording(session)
    _job(session, Job.Status.SUCCEEDED, finished_ago=HOURS_PAST_RETENTION)

    purge_run()

    assert _audio_is_kept(recording)


def test_a_replacement_recording_not_yet_transcribed_is_kept():
    session, old = _transcribed_session(finished_ago=HOURS_PAST_RETENTION)
    old.delete()
    replacement = _recording(session, sha="b" * 64)

    purge_run()

    assert _audio_is_kept(replacement)


def test_a_recording_whose_purge_was_interrupted_is_finished_by_the_next_run():
    session = ClinicalSessionFactory()
    recording = _recording(session)
    # Marked by a run that died before deleting the file; nothing else would make it due.
    Recording.objects.filter(pk=recording.pk).update(purged_at=timezone.now())

    run = purge_run()

    assert _audio_is_purged(recording)
    assert run.counts["recordings_audio"] == 1


# --- Artifacts -------------------------------------------------------------------------------


def test_expired_artifacts_are_deleted_with_their_files():
    job = _finished_job()
    with_file = _artifact(job, expires_in=-dt.timedelta(minutes=1))
    fileless = _artifact(job, expires_in=-dt.timedelta(minutes=1), with_file=False)

    run = purge_run()

    assert not Artifact.objects.filter(pk__in=[with_file.pk, fileless.pk]).exists()
    assert not _exists(with_file.storage_name)
    assert run.counts["artifacts"] == 2


def test_artifacts_are_kept_until_they_expire(settings):
    job = _finished_job()
    live = _artifact(job, expires_in=dt.timedelta(days=1))

    run = purge_run()

    assert Artifact.objects.filter(pk=live.pk).exists()
    assert _exists(live.storage_name)
    assert run.counts["artifacts"] == 0


@pytest.mark.parametrize("status", Job.ACTIVE_STATUSES)
def test_expired_artifacts_of_an_active_job_are_kept(status):
    job = _job(ClinicalSessionFactory(), status)
    artifact = _artifact(job, expires_in=-dt.timedelta(days=1))

    purge_run()

    assert Artifact.objects.filter(pk=artifact.pk).exists()
    assert _exists(artifact.storage_name)


def test_an_artifact_whose_purge_was_interrupted_is_finished_by_the_next_run():
    job = _finished_job()
    artifact = _artifact(job, expires_in=dt.timedelta(days=1))
    Artifact.objects.filter(pk=artifact.pk).update(purging_at=timezone.now())

    purge_run()

    assert not Artifact.objects.filter(pk=artifact.pk).exists()
    assert not _exists(artifact.storage_name)


# --- Job events and task results -------------------------------------------------------------


def test_old_events_of_finished_jobs_are_deleted_and_recent_or_active_ones_kept(settings):
    settings.JOB_EVENT_RETENTION_DAYS = 90
    finished, active = _finished_job(), _job(ClinicalSessionFactory(), Job.Status.RUNNING)
    old_finished = JobEvent.objects.create(job=finished, kind=JobEvent.Kind.SUCCEEDED)
    recent_finished = JobEvent.objects.create(job=finished, kind=JobEvent.Kind.STAGE)
    old_active = JobEvent.objects.create(job=active, kind=JobEvent.Kind.CREATED)
    JobEvent.objects.filter(pk__in=[old_finished.pk, old_active.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=91)
    )

    run = purge_run()

    assert set(JobEvent.objects.values_list("pk", flat=True)) == {recent_finished.pk, old_active.pk}
    assert run.counts["job_events"] == 1


def _task(*, stopped_ago: dt.timedelta, success: bool) -> Task:
    stopped = timezone.now() - stopped_ago
    return Task.objects.create(
        id=uuid.uuid4().hex,
        name="task",
        func="jobs.dispatch.dispatch_pass",
        started=stopped - dt.timedelta(seconds=1),
        stopped=stopped,
        success=success,
    )


def test_old_task_results_are_deleted_and_recent_ones_kept(settings):
    settings.TASK_RESULT_RETENTION_DAYS = 7
    old_success = _task(stopped_ago=dt.timedelta(days=8), success=True)
    old_failure = _task(stopped_ago=dt.timedelta(days=8), success=False)
    recent = _task(stopped_ago=dt.timedelta(days=6), success=False)

    run = purge_run()

    assert not Success.objects.filter(pk=old_success.pk).exists()
    assert not Failure.objects.filter(pk=old_failure.pk).exists()
    assert Failure.objects.filter(pk=recent.pk).exists()
    assert run.counts["task_rows"] == 2


# --- Files without rows ----------------------------------------------------------------------


def test_files_without_rows_are_deleted_once_older_than_the_grace_period(settings):
    settings.ORPHAN_GRACE_MINUTES = 60
    job = _finished_job()
    folder = f"{session_storage_prefix(job.session)}jobs/{job.pk}/"
    old_orphan = _stored(f"{folder}note_docx.docx")
    young_orphan = _stored(f"{folder}note_txt.txt")
    referenced = _artifact(job, expires_in=dt.timedelta(days=1))
    _, recording = _transcribed_session(finished_ago=dt.timedelta(hours=1))
    old_temp = _stored(f"{folder}.chunk_audio-3.ogg.k2j4h1.tmp")
    young_temp = _stored(f"{folder}.chunk_audio-4.ogg.9fj2k1.tmp")
    for name in (old_orphan, referenced.storage_name, recording.file.name, old_temp):
        _age(name, dt.timedelta(minutes=61))

    run = purge_run()

    assert not _exists(old_orphan)
    assert not _exists(old_temp)
    assert _exists(young_orphan)
    assert _exists(young_temp)
    assert _exists(referenced.storage_name)
    assert _exists(recording.file.name)
    assert (run.counts["orphan_files"], run.counts["temp_files"]) == (1, 1)


def test_a_readiness_probe_left_by_a_crash_is_swept_but_other_folders_are_left_alone():
    probe = _stored(f"health/{uuid.uuid4().hex}.probe")
    other = _stored("exports/kept-by-the-operator.csv")
    for name in (probe, other):
        _age(name, dt.timedelta(days=30))

    purge_run()

    assert not _exists(probe)
    assert _exists(other)


# --- Whole runs ------------------------------------------------------------------------------


@dataclass
class World:
    due_audio: Recording
    live_audio: Recording
    expired: list[Artifact]
    live: list[Artifact]
    orphan: str
    temp: str


def _a_bit_of_everything() -> World:
    """Due and live items of every kind."""
    _, due_audio = _transcribed_session(finished_ago=HOURS_PAST_RETENTION)
    _, live_audio = _transcribed_session(finished_ago=dt.timedelta(hours=1))
    job = _finished_job()
    expired = [_artifact(job, expires_in=-dt.timedelta(hours=1)) for _ in range(4)]
    expired.append(_artifact(job, expires_in=-dt.timedelta(hours=1), with_file=False))
    live = [_artifact(job, expires_in=dt.timedelta(days=2)) for _ in range(2)]
    active_job = _job(ClinicalSessionFactory(), Job.Status.RUNNING)
    live.append(_artifact(active_job, expires_in=-dt.timedelta(hours=1)))
    old_event = JobEvent.objects.create(job=job, kind=JobEvent.Kind.SUCCEEDED)
    JobEvent.objects.filter(pk=old_event.pk).update(created_at=timezone.now() - dt.timedelta(days=100))
    _task(stopped_ago=dt.timedelta(days=30), success=True)
    orphan = _stored(f"{session_storage_prefix(job.session)}jobs/{job.pk}/draft_json.json")
    _age(orphan, dt.timedelta(hours=2))
    temp = _stored(f"{session_storage_prefix(job.session)}jobs/{job.pk}/.note_docx.docx.x8d0a1r2.tmp")
    _age(temp, dt.timedelta(hours=2))
    return World(due_audio=due_audio, live_audio=live_audio, expired=expired, live=live, orphan=orphan, temp=temp)


def test_a_dry_run_deletes_nothing_and_counts_what_the_real_run_deletes():
    world = _a_bit_of_everything()
    rows_before = (Recording.objects.filter(purged_at__isnull=True).count(), Artifact.objects.count())

    dry = purge_run(dry_run=True)

    assert (Recording.objects.filter(purged_at__isnull=True).count(), Artifact.objects.count()) == rows_before
    assert all(_exists(artifact.storage_name) for artifact in world.expired if artifact.storage_name)
    assert _exists(world.orphan)
    assert _exists(world.temp)
    assert JobEvent.objects.exists()
    assert Task.objects.exists()
    assert dry.dry_run

    real = purge_run()

    assert not real.dry_run
    assert {key: dry.counts[key] for key in COUNTED} == {key: real.counts[key] for key in COUNTED}
    assert real.counts == {
        "recordings_audio": 1,
        "artifacts": 5,
        "recording_parts": 0,
        "job_events": 1,
        "task_rows": 1,
        "api_records": 0,
        "audit_events": 0,
        "orphan_files": 1,
        "temp_files": 1,
        "skipped": 0,
        "interrupted": 0,
    }


def test_every_run_is_recorded_with_its_counts():
    _a_bit_of_everything()

    purge_run(dry_run=True)
    purge_run()

    dry, real = PurgeRun.objects.order_by("started_at", "pk")
    assert dry.dry_run
    assert not real.dry_run
    assert dry.finished_at is not None
    assert real.finished_at is not None
    assert real.counts["artifacts"] == 5


class SimulatedCrash(Exception):
    pass


# Seven files go in all: the audio, four artifact files, the orphan and the temporary file.
@pytest.mark.parametrize("deletions_before_crash", [0, 1, 2, 4, 6])
def test_a_purge_interrupted_halfway_and_run_again_leaves_nothing_expired_and_deletes_nothing_live(
    settings, monkeypatch, deletions_before_crash
):
    settings.PURGE_BATCH_SIZE = 2
    world = _a_bit_of_everything()
    real_delete = AtomicFileSystemStorage.delete
    deleted: list[str] = []
    crashing = [True]

    def delete_then_crash(self, name):
        if crashing[0] and len(deleted) >= deletions_before_crash:
            raise SimulatedCrash()
        real_delete(self, name)
        deleted.append(name)

    monkeypatch.setattr(AtomicFileSystemStorage, "delete", delete_then_crash)
    with pytest.raises(SimulatedCrash):
        purge_run()
    interrupted = PurgeRun.objects.get()
    assert interrupted.counts["interrupted"] == 1
    assert interrupted.finished_at is not None
    assert len(deleted) == deletions_before_crash

    crashing[0] = False
    purge_run()

    # Nothing past its time is left ...
    assert _audio_is_purged(world.due_audio)
    assert not Artifact.objects.filter(pk__in=[artifact.pk for artifact in world.expired]).exists()
    assert not any(_exists(artifact.storage_name) for artifact in world.expired)
    assert not _exists(world.orphan)
    assert not _exists(world.temp)
    assert not Artifact.objects.filter(purging_at__isnull=False).exists()
    assert not Recording.objects.filter(purged_at__isnull=False).exclude(file="").exists()
    # ... and nothing live was touched.
    assert _audio_is_kept(world.live_audio)
    for artifact in world.live:
        assert Artifact.objects.filter(pk=artifact.pk, purging_at__isnull=True).exists()
        assert _exists(artifact.storage_name)


def test_purging_thousands_of_artifacts_takes_queries_per_batch_not_per_row(settings):
    settings.PURGE_BATCH_SIZE = 500
    job = _finished_job()
    expired_at = timezone.now() - dt.timedelta(days=1)
    Artifact.objects.bulk_create(
        Artifact(job=job, kind=Artifact.Kind.CHUNK_AUDIO, key=str(index), expires_at=expired_at)
        for index in range(2000)
    )

    with CaptureQueriesContext(connection) as queries:
        run = purge_run()

    assert run.counts["artifacts"] == 2000
    assert not Artifact.objects.exists()
    batches = 2000 // 500
    # Four statements per batch (ids, mark, marked rows, delete) plus a fixed number for the run itself (among them
    # the practices' retention choices, read once per pass).
    assert len(queries) <= 4 * batches + 18


def test_rows_that_cannot_be_marked_stop_the_batch_loop_instead_of_spinning(monkeypatch):
    job = _finished_job()
    stuck = [_artifact(job, expires_in=-dt.timedelta(hours=1), with_file=False) for _ in range(3)]
    real_artifacts_due = purge.artifacts_due
    calls = []

    def due_until_marked(now, chosen=None):
        # Every mark finds the job active again, as if one had started between reading the ids and marking them.
        calls.append(now)
        if len(calls) > 50:
            raise AssertionError("the purge keeps reading the same rows")
        return real_artifacts_due(now, chosen) if len(calls) == 1 else Artifact.objects.none()

    monkeypatch.setattr(purge, "artifacts_due", due_until_marked)

    run = purge_run()

    assert run.counts["artifacts"] == 0
    assert Artifact.objects.filter(pk__in=[artifact.pk for artifact in stuck], purging_at__isnull=True).count() == 3


def test_purge_scheduled_runs_a_purge_and_returns_its_counts():
    job = _finished_job()
    _artifact(job, expires_in=-dt.timedelta(hours=1))

    result = purge_scheduled()

    assert result["artifacts"] == 1
    assert PurgeRun.objects.get().counts == result


# --- One purge at a time ---------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL uses an advisory lock, tested with threads")
def test_a_purge_skips_while_another_one_is_recorded_as_running():
    job = _finished_job()
    artifact = _artifact(job, expires_in=-dt.timedelta(hours=1))
    PurgeRun.objects.create(dry_run=False)

    run = purge_run()

    assert run.counts["skipped"] == 1
    assert Artifact.objects.filter(pk=artifact.pk).exists()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL uses an advisory lock, tested with threads")
def test_a_purge_that_died_long_ago_does_not_block_the_next_one():
    job = _finished_job()
    artifact = _artifact(job, expires_in=-dt.timedelta(hours=1))
    dead = PurgeRun.objects.create(dry_run=False)
    PurgeRun.objects.filter(pk=dead.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))

    run = purge_run()

    assert run.counts["skipped"] == 0
    assert not Artifact.objects.filter(pk=artifact.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_purge_started_while_one_runs_skips_at_once(monkeypatch):
    job = _finished_job()
    artifact = _artifact(job, expires_in=-dt.timedelta(hours=1))
    entered, release = threading.Event(), threading.Event()
    first_thread: list[threading.Thread] = []
    original = purge._purge_recordings

    def held_open(*args, **kwargs):
        if threading.current_thread() in first_thread:
            entered.set()
            release.wait(timeout=10)
        return original(*args, **kwargs)

    monkeypatch.setattr(purge, "_purge_recordings", held_open)
    results: dict[str, PurgeRun] = {}

    def first_purge():
        try:
            results["first"] = purge_run()
        finally:
            connection.close()

    thread = threading.Thread(target=first_purge)
    first_thread.append(thread)
    thread.start()
    try:
        assert entered.wait(timeout=10)
        second = purge_run()
    finally:
        release.set()
        thread.join(timeout=20)

    assert second.counts["skipped"] == 1
    assert second.counts["artifacts"] == 0
    assert results["first"].counts["skipped"] == 0
    assert results["first"].counts["artifacts"] == 1
    assert not Artifact.objects.filter(pk=artifact.pk).exists()
    # The lock is released: the next purge runs.
    assert purge_run().counts["skipped"] == 0


# --- The command -----------------------------------------------------------------------------


def test_purge_command_prints_what_it_deleted():
    _a_bit_of_everything()
    out = io.StringIO()

    call_command("purge", stdout=out)

    output = out.getvalue()
    assert output.startswith("Deleted:")
    assert "recording audio files: 1" in output
    assert "artifacts: 5" in output
    assert "files without a row: 1" in output
    assert not Artifact.objects.filter(expires_at__lte=timezone.now(), job__status=Job.Status.SUCCEEDED).exists()


def test_purge_command_dry_run_prints_counts_and_deletes_nothing():
    world = _a_bit_of_everything()
    out = io.StringIO()

    call_command("purge", "--dry-run", stdout=out)

    output = out.getvalue()
    assert output.startswith("Dry run: nothing deleted.")
    assert "artifacts: 5" in output
    assert "job events: 1" in output
    assert all(Artifact.objects.filter(pk=artifact.pk).exists() for artifact in world.expired)
    assert str(Path(world.orphan).name) not in output


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL uses an advisory lock, tested with threads")
def test_purge_command_says_so_when_another_purge_is_running():
    PurgeRun.objects.create(dry_run=False)
    out = io.StringIO()

    call_command("purge", stdout=out)

    assert out.getvalue() == "Another purge is running; this one did nothing.\n"


# --- Schedules -------------------------------------------------------------------------------


def test_ensure_schedules_creates_the_purge_dispatcher_reconciliation_and_expired_logins_schedules_once():
    Schedule.objects.all().delete()  # migrate made them; start from a database without
    created = ensure_schedules()
    again = ensure_schedules()

    assert sorted(created) == ["Expired logins", "Job dispatcher", "Retention purge", "Stripe reconciliation"]
    assert again == []
    purge_schedule = Schedule.objects.get(func="jobs.purge.purge_scheduled")
    dispatcher = Schedule.objects.get(func="jobs.dispatch.dispatch_pass")
    assert (purge_schedule.schedule_type, purge_schedule.repeats) == (Schedule.HOURLY, -1)
    assert (dispatcher.schedule_type, dispatcher.minutes) == (Schedule.MINUTES, 1)


def test_ensure_schedules_restores_a_changed_schedule_without_moving_its_next_run():
    ensure_schedules()
    next_run = timezone.now() + dt.timedelta(minutes=17)
    Schedule.objects.filter(name="Job dispatcher").update(minutes=30, next_run=next_run)
    Schedule.objects.create(name="Job dispatcher", func="jobs.dispatch.dispatch_pass", schedule_type=Schedule.DAILY)

    changed = ensure_schedules()

    assert changed == ["Job dispatcher"]
    dispatcher = Schedule.objects.get(name="Job dispatcher")
    assert dispatcher.minutes == 1
    assert dispatcher.next_run == next_run


def test_expired_idempotency_records_and_old_rate_windows_are_purged(practice, settings):
    from accounts.models import IdempotencyRecord, RateLimitCounter

    settings.API_IDEMPOTENCY_TTL_HOURS = 24
    now = timezone.now()
    old = IdempotencyRecord.objects.create(practice=practice, scope="s", key="old", request_hash="h")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(hours=25))
    fresh = IdempotencyRecord.objects.create(practice=practice, scope="s", key="fresh", request_hash="h")
    RateLimitCounter.objects.create(scope="jobs", identity="k", window_start=int(now.timestamp()) - 3 * 86400, count=3)
    current = RateLimitCounter.objects.create(scope="jobs", identity="k", window_start=int(now.timestamp()), count=1)

    dry = purge_run(dry_run=True, now=now)
    assert dry.counts["api_records"] == 2
    assert IdempotencyRecord.objects.count() == 2

    run = purge_run(now=now)
    assert run.counts["api_records"] == 2
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert list(RateLimitCounter.objects.values_list("pk", flat=True)) == [current.pk]
