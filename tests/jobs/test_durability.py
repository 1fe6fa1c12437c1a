"""Faults injected for real: killed workers, crashes at every stage boundary, deletion mid-run.

These tests run workers as subprocesses on the test's own database (a file on SQLite, the test database on
PostgreSQL) with short leases, and kill them with SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import uuid

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.dispatch import dispatch_pass
from jobs.models import Artifact, Job
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession, Transcript
from sessions.services import recording_replace, session_delete
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.workers import (
    ROOT,
    kill_cluster,
    start_cluster,
    stop_cluster,
    temp_files_under,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

TRANSCRIPTIONS = "/v1/audio/transcriptions"


def _session(user, name="dialogue_short.webm") -> ClinicalSession:
    session = ClinicalSessionFactory(practice=user.memberships.get().practice, clinician=user, note_type="soap")
    recording_replace(session=session, upload_path=AUDIO / name, original_filename=name, uploaded_by=user)
    session.refresh_from_db()
    return session


def _expire_leases() -> None:
    Job.objects.filter(status=Job.Status.RUNNING).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))


def _files_under(prefix: str) -> list[str]:
    found: list[str] = []

    def walk(folder: str) -> None:
        try:
            folders, files = default_storage.listdir(folder)
        except FileNotFoundError:
            return
        found.extend(f"{folder}{name}" for name in files)
        for sub in folders:
            walk(f"{folder}{sub}/")

    walk(prefix)
    return found


@pytest.fixture
def chunked(settings):
    """The short dialogue cut into six 30-second chunks, two sent at a time, with 2-second leases."""
    settings.TRANSCRIPTION_MAX_CHUNK_SECONDS = 30
    settings.TRANSCRIPTION_CONCURRENCY = 2
    settings.JOB_LEASE_SECONDS = 2
    settings.JOB_BACKOFF_BASE_SECONDS = 0


def test_a_killed_cluster_loses_only_the_chunks_in_flight(alice, chunked, fake_anthropic, fake_openai, settings):
    fake_openai.latency = 0.8
    session = _session(alice)
    cluster = start_cluster()
    try:
        job = job_start(session=session, requested_by=alice)

        def mid_transcription() -> bool:
            done = [r for r in fake_openai.requests if r.path == TRANSCRIPTIONS and r.status == 200]
            return len(done) >= 2 and any(r.status is None for r in fake_openai.requests)

        wait_until(mid_transcription, timeout=60, what="the cluster to be mid-transcription")
        kill_cluster(cluster)
        sent_before_kill = fake_openai.calls(TRANSCRIPTIONS)
        committed = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT).count()
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING

        wait_until(lambda: dispatch_pass()["reclaimed"] == 1, timeout=10, what="the lease to expire")
        cluster = start_cluster()
        wait_until(
            lambda: Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED, timeout=90, what="the job to finish"
        )
        job.refresh_from_db()
        chunks = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO).count()
        assert job.crash_count == 1
        # Only what was sent but not yet committed when the cluster died was sent again: at most the two in flight
        # (plus one whose answer arrived just before the kill, had it not been committed yet).
        repeated = fake_openai.repeated_uploads
        assert len(repeated) <= sent_before_kill - committed <= settings.TRANSCRIPTION_CONCURRENCY + 1
        assert fake_openai.calls(TRANSCRIPTIONS) == chunks + (sent_before_kill - committed)
        assert fake_anthropic.calls() == 1
        assert temp_files_under(settings.MEDIA_ROOT) == []

        # The new cluster keeps taking new work.
        second = job_start(session=_session(alice, "jfk.flac"), requested_by=alice)
        wait_until(lambda: Job.objects.get(pk=second.pk).status == Job.Status.SUCCEEDED, timeout=60, what="new work")
    finally:
        stop_cluster(cluster)


def _fingerprint(session: ClinicalSession) -> dict[str, object]:
    job = Job.objects.get(session=session)
    # Audio chunks are compared by what they cover (the WebM muxer writes a random segment id into each file);
    # exports carry the session's date and clinician, which differ between the two sessions.
    artifacts = Artifact.objects.filter(job=job)
    deterministic = {
        (a.kind, a.key): a.meta if a.kind == Artifact.Kind.CHUNK_AUDIO else a.sha256
        for a in artifacts.exclude(kind__in=[Artifact.Kind.NOTE_DOCX, Artifact.Kind.NOTE_TXT])
    }
    note = Note.objects.get(session=session)
    return {
        "status": job.status,
        "artifacts": deterministic,
        "exports": sorted(Artifact.objects.filter(job=job).values_list("kind", flat=True)),
        "segments": Transcript.objects.get(session=session).segments,
        "note": [(s["key"], s["text"], s["evidence"], s["flags"]) for s in note.sections],
        "note_version": note.version,
    }


@pytest.mark.parametrize("moment", ["before", "after"])
@pytest.mark.parametrize("stage", ["prepare", "transcribe", "draft", "export"])
def test_a_crash_at_any_stage_boundary_recovers_to_the_same_note(alice, charlie, chunked, settings, stage, moment):
    settings.AI_MODE = "stub"
    # The reference: the same audio processed without a crash, in another practice (so nothing is reused).
    reference = _session(charlie)
    run_job(str(job_start(session=reference, requested_by=charlie).pk))

    session = _session(alice)
    job = job_start(session=session, requested_by=alice)
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.support.crash_driver", str(job.pk), stage, moment],
        check=False,
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        timeout=120,
    )
    assert crashed.returncode == 137, crashed.stderr.decode()[-2000:]
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING

    _expire_leases()
    assert dispatch_pass()["reclaimed"] == 1
    run_job(str(job.pk))

    assert _fingerprint(session) == _fingerprint(reference)
    assert temp_files_under(settings.MEDIA_ROOT) == []


def test_deleting_a_session_mid_pipeline_cancels_its_job_and_leaves_no_file(
    alice, chunked, fake_anthropic, fake_openai
):
    fake_openai.latency = 0.6
    session = _session(alice)
    job = job_start(session=session, requested_by=alice)
    prefix = f"practices/{session.practice_id}/sessions/{session.pk}/"
    worker = threading.Thread(target=run_job, args=(str(job.pk),))
    worker.start()
    try:
        wait_until(lambda: fake_openai.calls(TRANSCRIPTIONS) >= 1, timeout=30, what="transcription to start")
        session_delete(session=ClinicalSession.objects.get(pk=session.pk))
    finally:
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert fake_openai.calls(TRANSCRIPTIONS) < 6, "the worker went on sending chunks of a deleted session"
    assert not Job.objects.filter(pk=job.pk).exists(), "the worker brought a deleted job back"
    assert not Artifact.objects.filter(job_id=job.pk).exists()
    assert _files_under(prefix) == []
    assert fake_anthropic.calls() == 0


def test_canceling_mid_transcription_stops_between_chunks_and_removes_the_files(
    alice, chunked, fake_anthropic, fake_openai
):
    from jobs.services import job_cancel

    fake_openai.latency = 0.6
    session = _session(alice)
    job = job_start(session=session, requested_by=alice)
    worker = threading.Thread(target=run_job, args=(str(job.pk),))
    worker.start()
    try:
        wait_until(lambda: fake_openai.calls(TRANSCRIPTIONS) >= 1, timeout=30, what="transcription to start")
        job_cancel(job=Job.objects.get(pk=job.pk), requested_by=alice)
    finally:
        worker.join(timeout=60)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED
    assert fake_openai.calls(TRANSCRIPTIONS) <= 4
    assert fake_anthropic.calls() == 0
    assert not Artifact.objects.filter(job=job).exists()
    assert _files_under(f"practices/{session.practice_id}/sessions/{session.pk}/jobs/") == []
    session.refresh_from_db()
    assert session.status == ClinicalSession.Status.RECORDED


def test_a_job_that_keeps_killing_its_worker_ends_failed_with_a_clear_error(alice, settings):
    settings.AI_MODE = "stub"
    settings.JOB_MAX_CRASHES = 3
    job = job_start(session=_session(alice, "jfk.flac"), requested_by=alice)
    for crash in range(3):
        Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, lease_token=uuid.uuid4())
        _expire_leases()
        counts = dispatch_pass()
        job.refresh_from_db()
        assert job.crash_count == crash + 1
    assert counts["failed_after_crashes"] == 1
    assert job.status == Job.Status.FAILED
    assert job.error_code == "WORKER_CRASHED"
    assert "stopped its worker 3 times" in job.error_message


@pytest.mark.postgres
@pytest.mark.parametrize("row", ["artifact", "transcript"])
def test_a_row_written_while_its_session_is_deleted_waits_and_the_deletion_stands(alice, monkeypatch, row):
    """A worker storing an artifact of a job, or the transcript, of a session being deleted: its row waits for
    the deletion and then finds the job or session gone; the deletion is not undone by a row slipped in between
    its reads and its deletes."""
    from django.db import IntegrityError, connection, transaction

    session = _session(alice)
    job = job_start(session=session, requested_by=alice)
    deleting = threading.Event()
    worker_outcome: list[str] = []

    def worker() -> None:
        deleting.wait(timeout=10)
        try:
            with transaction.atomic():
                if row == "artifact":
                    Artifact.objects.create(job_id=job.pk, kind="chunk", key="late", expires_at=timezone.now())
                else:
                    Transcript.objects.create(session_id=session.pk, media_sha256="0" * 64, model="late")
            worker_outcome.append("stored")
        except IntegrityError:
            worker_outcome.append("gone")
        finally:
            connection.close()

    original_delete = ClinicalSession.delete

    def delete_slowly(self, *args, **kwargs):  # the worker writes while the deletion is under way
        deleting.set()
        worker_thread.join(timeout=1.0)
        return original_delete(self, *args, **kwargs)

    monkeypatch.setattr(ClinicalSession, "delete", delete_slowly)
    worker_thread = threading.Thread(target=worker)
    worker_thread.start()
    session_delete(session=ClinicalSession.objects.get(pk=session.pk))
    worker_thread.join(timeout=10)

    assert worker_outcome == ["gone"]
    assert not ClinicalSession.objects.filter(pk=session.pk).exists()
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not Artifact.objects.filter(job_id=job.pk).exists()
    assert not Transcript.objects.filter(session_id=session.pk).exists()
