"""Several machines' worth of processes on one PostgreSQL, one Redis and one bucket: two ``qcluster`` processes of
two workers each race over one queue in which every job's task is delivered twice, while two clinicians' clicks
race to start the same sessions. Every job runs exactly once, and no session ever has two active jobs."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count
from django_q.models import Task
from django_q.tasks import async_task

from jobs.models import Artifact, Job, JobEvent
from jobs.services import JobAlreadyActive, job_start
from sessions.models import ClinicalSession, Transcript
from sessions.services import recording_replace
from tests.factories import ClinicalSessionFactory
from tests.support.synthetic_audio import write_wav
from tests.support.workers import start_cluster, stop_clusters, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SESSIONS = 20


def _in_thread(work, errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 — reported by the test
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _recorded_sessions(alice, folder) -> list[ClinicalSession]:
    practice = alice.memberships.get().practice
    sessions: list[ClinicalSession] = []
    for number in range(SESSIONS):
        # Every recording differs, so that each is a recording of its own.
        audio = write_wav(folder / f"s{number}.wav", [(1.0 + number / 1000, -20.0)])
        session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap")
        recording_replace(session=session, upload_path=audio, original_filename="a.wav", uploaded_by=alice)
        sessions.append(session)
    return sessions


def test_two_clusters_on_one_database_broker_and_bucket_run_every_job_exactly_once(
    alice, redis_broker, s3_bucket, settings, tmp_path
):
    # The simulated providers: a worker's first job then costs it no SDK import, which keeps the test to seconds
    # (tests/jobs/test_concurrency.py counts the live providers' requests over 200 sessions on the ORM broker).
    settings.AI_MODE = "stub"
    # The clusters start while the recordings are stored.
    shared = {"REDIS_URL": redis_broker.url, "Q_WORKERS": "2", **s3_bucket.env}
    clusters = [start_cluster(**shared), start_cluster(**shared)]
    try:
        sessions = _recorded_sessions(alice, tmp_path)
    except BaseException:
        stop_clusters(clusters)
        raise

    errors: list[BaseException] = []
    overlaps: list[object] = []
    started = threading.Event()
    stop = threading.Event()

    def start_all() -> None:
        for session in sessions:
            with contextlib.suppress(JobAlreadyActive):
                job = job_start(session=session, requested_by=alice)
                # At-least-once delivery: the same task again, as a resend by the dispatcher would be.
                async_task("jobs.tasks.run_job", str(job.pk), task_name=f"job {job.pk}", group="pipeline")
        started.set()

    def watch_overlaps() -> None:
        while not stop.is_set():
            doubled = list(
                Job.objects.active().values("session_id").annotate(n=Count("id")).filter(n__gt=1).values("session_id")
            )
            if doubled:
                overlaps.append(doubled)
            stop.wait(0.05)

    threads = [_in_thread(start_all, errors), _in_thread(start_all, errors), _in_thread(watch_overlaps, errors)]
    try:
        wait_until(
            lambda: (
                started.is_set()
                and Job.objects.filter(status=Job.Status.SUCCEEDED).values("session_id").distinct().count() == SESSIONS
                and not Job.objects.active().exists()
            ),
            timeout=120,
            what=f"all {SESSIONS} sessions to be processed by the two clusters",
        )
        # Which cluster each job ran in: its worker's process group is its cluster's (start_cluster).
        worker_pids = {int(worker.split(":")[1]) for worker in Job.objects.values_list("worker_id", flat=True)}
        ran_in = {os.getpgid(pid) for pid in worker_pids}
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        stop_clusters(clusters)

    assert errors == []
    assert overlaps == [], "two active jobs for one session"
    jobs = Job.objects.all()
    assert set(jobs.values_list("status", flat=True)) == {Job.Status.SUCCEEDED}
    assert ran_in == {cluster.pid for cluster in clusters}
    # Each job was started once and succeeded once, however many of its tasks were delivered.
    events = Counter(JobEvent.objects.values_list("job_id", "kind"))
    for job in jobs:
        assert events[(job.pk, JobEvent.Kind.STARTED)] == 1, job.pk
        assert events[(job.pk, JobEvent.Kind.SUCCEEDED)] == 1, job.pk
        assert events[(job.pk, JobEvent.Kind.RECLAIMED)] == 0, job.pk
    assert Task.objects.filter(func="jobs.tasks.run_job").count() >= 2 * jobs.count()
    # One transcript per session, from the one recording each has.
    assert Transcript.objects.count() == SESSIONS
    # Every process wrote to the one bucket, encrypted; every artifact a worker recorded is there.
    stored = set(Artifact.objects.exclude(storage_name="").values_list("storage_name", flat=True))
    assert stored <= set(s3_bucket.keys())
    assert s3_bucket.unencrypted() == []
    assert redis_broker.queued() == 0
