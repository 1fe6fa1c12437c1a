"""Audio minutes are recorded once per transcription, at the success of the run that ends with a note; reused
transcripts, re-runs, retries and reclaimed workers never record them twice."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django.utils import timezone

from billing.models import UsageRecord
from billing.services import usage_record
from jobs import runner
from jobs.dispatch import dispatch_pass
from jobs.models import Job
from jobs.pipeline import STAGES
from jobs.runner import PermanentFailure
from jobs.services import job_cancel, job_retry, job_start
from jobs.tasks import run_job
from sessions.services import recording_replace
from tests.billing.conftest import process
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.workers import ROOT, worker_env

pytestmark = pytest.mark.django_db

JFK_SECONDS = 11.0


@pytest.fixture(autouse=True)
def _stub(settings):
    settings.AI_MODE = "stub"


@pytest.fixture
def jfk_session(alice, practice):
    def make():
        session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap")
        recording_replace(
            session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice
        )
        session.refresh_from_db()
        return session

    return make


@pytest.fixture
def draft_fails_once(monkeypatch):
    """The draft stage refuses its first run (a provider's permanent error), then works."""
    calls = []
    real = STAGES[Job.Stage.DRAFT]

    def draft(job, lease):
        calls.append(job.pk)
        if len(calls) == 1:
            raise PermanentFailure("PROVIDER_REFUSED", "The drafting provider refused the request.")
        return real(job, lease)

    monkeypatch.setitem(STAGES, Job.Stage.DRAFT, draft)
    return calls


def _recorded() -> list[tuple[object, float]]:
    return [(record.job_id, round(record.seconds, 1)) for record in UsageRecord.objects.order_by("recorded_at")]


def test_a_successful_run_records_its_audio_minutes_once(alice, jfk_session, practice):
    job = process(jfk_session(), alice)
    assert job.status == Job.Status.SUCCEEDED
    record = UsageRecord.objects.get()
    assert (record.job_id, record.practice_id) == (job.pk, practice.pk)
    assert record.seconds == pytest.approx(JFK_SECONDS, abs=0.2)


def test_a_run_that_fails_records_nothing(alice, jfk_session, draft_fails_once):
    job = process(jfk_session(), alice)
    assert job.status == Job.Status.FAILED
    assert UsageRecord.objects.count() == 0


def test_a_retried_run_records_the_minutes_once_at_its_success(alice, jfk_session, draft_fails_once):
    job = process(jfk_session(), alice)
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert _recorded() == [(job.pk, JFK_SECONDS)]


def test_a_new_run_after_a_failed_one_bills_the_audio_the_failed_one_transcribed(alice, jfk_session, draft_fails_once):
    session = jfk_session()
    failed = process(session, alice)
    assert failed.status == Job.Status.FAILED
    second = process(session, alice)  # reuses the session's transcript: nothing is sent again
    assert second.status == Job.Status.SUCCEEDED
    assert _recorded() == [(second.pk, JFK_SECONDS)]


def test_a_transcript_reused_from_identical_audio_is_not_billed_again(alice, jfk_session):
    first = process(jfk_session(), alice)
    second = process(jfk_session(), alice)
    assert second.status == Job.Status.SUCCEEDED
    assert _recorded() == [(first.pk, JFK_SECONDS)]


def test_processing_a_session_again_does_not_bill_its_audio_again(alice, jfk_session):
    session = jfk_session()
    first = process(session, alice)
    again = process(session, alice)
    assert again.status == Job.Status.SUCCEEDED
    assert _recorded() == [(first.pk, JFK_SECONDS)]


def test_a_new_recording_of_the_session_is_billed(alice, jfk_session):
    session = jfk_session()
    first = process(session, alice)
    recording_replace(
        session=session,
        upload_path=AUDIO / "dialogue_short.webm",
        original_filename="dialogue.webm",
        uploaded_by=alice,
    )
    second = process(session, alice)
    assert [job_id for job_id, _ in _recorded()] == [first.pk, second.pk]


def test_a_job_reclaimed_after_its_worker_was_lost_records_its_minutes_once(alice, jfk_session):
    session = jfk_session()
    job = job_start(session=session, requested_by=alice)
    # A worker claims it, gets through preparing and transcribing, and dies before drafting.
    lease = runner.job_claim(job.pk, worker_id="doomed")
    assert lease is not None
    for stage in (Job.Stage.PREPARE, Job.Stage.TRANSCRIBE):
        loaded = lease.load()
        STAGES[stage](loaded, lease)
        lease.update(stage=runner._following(stage))
        lease.event("stage", stage=stage, message="finished")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert dispatch_pass()["reclaimed"] == 1
    run_job(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.crash_count) == (Job.Status.SUCCEEDED, 1)
    assert _recorded() == [(job.pk, JFK_SECONDS)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_worker_killed_at_the_end_of_transcription_records_the_minutes_once(alice, jfk_session, moment):
    session = jfk_session()
    job = job_start(session=session, requested_by=alice)
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.crash_driver", str(job.pk), "transcribe", moment],
        check=False,
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == 137, killed.stderr.decode()[-2000:]
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert dispatch_pass()["reclaimed"] == 1
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert _recorded() == [(job.pk, JFK_SECONDS)]


def test_recording_the_same_job_twice_keeps_one_record(practice):
    job_id = Job._meta.pk.default()
    assert usage_record(practice_id=practice.pk, job_id=job_id, seconds=60) is True
    assert usage_record(practice_id=practice.pk, job_id=job_id, seconds=60) is False
    assert UsageRecord.objects.count() == 1


def test_a_run_canceled_after_transcribing_then_retried_bills_the_audio_once(alice, jfk_session):
    session = jfk_session()
    job = job_start(session=session, requested_by=alice)
    lease = runner.job_claim(job.pk, worker_id="worker")
    assert lease is not None
    for stage in (Job.Stage.PREPARE, Job.Stage.TRANSCRIBE):
        STAGES[stage](lease.load(), lease)
        lease.update(stage=runner._following(stage))
    job_cancel(job=job, requested_by=alice)  # asked while running: its worker stops and its files go
    runner.job_finish_canceled(job.pk, storage_prefix=lease.storage_prefix)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED
    assert UsageRecord.objects.count() == 0
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert _recorded() == [(job.pk, JFK_SECONDS)]
