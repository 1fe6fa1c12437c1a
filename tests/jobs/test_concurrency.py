"""Two clusters, two schedulers and two clinicians' clicks racing over 200 sessions."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client

from jobs.models import Job
from jobs.services import JobAlreadyActive, job_start
from sessions.services import recording_replace
from tests.factories import ClinicalSessionFactory
from tests.support.synthetic_audio import write_wav
from tests.support.workers import start_cluster, stop_cluster, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SESSIONS = 200


def _in_thread(work, stop: threading.Event, errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            while not stop.is_set():
                if work() is False:
                    return
        except BaseException as error:  # noqa: BLE001 — reported by the test
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_racing_clusters_and_runners_never_run_a_session_twice(alice, fake_anthropic, fake_openai, settings, tmp_path):
    settings.JOB_LEASE_SECONDS = 5
    settings.JOBS_RUNNER_TOKEN = "runner-token"
    practice = alice.memberships.get().practice
    sessions = []
    for number in range(SESSIONS):
        # Every recording differs, so that no transcript is reused and each is transcribed exactly once.
        audio = write_wav(tmp_path / f"s{number}.wav", [(1.0 + number / 1000, -20.0)])
        session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap")
        recording_replace(session=session, upload_path=audio, original_filename="a.wav", uploaded_by=alice)
        sessions.append(session)

    stop = threading.Event()
    errors: list[BaseException] = []
    overlaps: list[object] = []

    def start_all() -> bool:
        for session in sessions:
            with contextlib.suppress(JobAlreadyActive):
                job_start(session=session, requested_by=alice)
        return False

    def call_runner() -> bool:
        # What an outside scheduler does: the token-authenticated runner endpoint (dispatch and purge).
        response = Client().post("/api/v1/jobs/runner", headers={"Authorization": "Bearer runner-token"})
        assert response.status_code == 200, response.content
        stop.wait(0.2)
        return True

    def watch_overlaps() -> bool:
        doubled = list(
            Job.objects.active().values("session_id").annotate(n=Count("id")).filter(n__gt=1).values_list("session_id")
        )
        if doubled:
            overlaps.append(doubled)
        stop.wait(0.1)
        return True

    clusters = [start_cluster(), start_cluster()]
    threads = [
        _in_thread(start_all, stop, errors),
        _in_thread(start_all, stop, errors),
        _in_thread(call_runner, stop, errors),
        _in_thread(call_runner, stop, errors),
        _in_thread(watch_overlaps, stop, errors),
    ]
    try:
        wait_until(
            lambda: (
                Job.objects.filter(status=Job.Status.SUCCEEDED).values("session_id").distinct().count() == SESSIONS
                and not Job.objects.active().exists()
            ),
            timeout=300,
            what=f"all {SESSIONS} sessions to be processed",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for cluster in clusters:
            stop_cluster(cluster)

    assert errors == []
    assert overlaps == [], "two active jobs for one session"
    jobs = Job.objects.all()
    assert set(jobs.values_list("status", flat=True)) == {Job.Status.SUCCEEDED}
    # As far as the providers can tell, each job ran once: every recording transcribed once, every job drafted once.
    assert fake_openai.calls("/v1/audio/transcriptions") == SESSIONS
    assert fake_openai.repeated_uploads == []
    assert fake_anthropic.calls() == jobs.count()
