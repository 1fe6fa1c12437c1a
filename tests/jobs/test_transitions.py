"""The job state machine: each move writes the row, its event, the session's status and the end-of-job
notification once, in one transaction; a move whose condition no longer holds writes nothing; hooks see every
move exactly once."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import IntegrityError
from django.utils import timezone

from integrations.models import WebhookDelivery, WebhookEndpoint
from jobs.dispatch import dispatch_pass
from jobs.models import Job, JobEvent
from jobs.notifications import notify_job_finished
from jobs.runner import Lease
from jobs.services import job_start
from jobs.tasks import run_job
from jobs.transitions import (
    Transition,
    job_claim,
    job_create_failed,
    job_create_queued,
    job_mark_canceled,
    job_mark_failed,
    job_mark_succeeded,
    job_reclaim,
    job_request_cancel,
    job_requeue,
    job_requeue_due,
    job_schedule_retry,
    on_transition,
)
from sessions.models import ClinicalSession
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db

LEASE = dt.timedelta(minutes=2)
QUEUED = Job.Status.QUEUED
RUNNING = Job.Status.RUNNING


@pytest.fixture
def session(alice) -> ClinicalSession:
    return ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)


@pytest.fixture
def endpoint(alice) -> WebhookEndpoint:
    """A webhook endpoint of Alice's practice, so that each end-of-job notification leaves a delivery row."""
    return WebhookEndpoint.objects.create(
        practice=alice.memberships.get().practice, url="https://hooks.example.org/x", secret="s" * 32
    )


@pytest.fixture
def notified(monkeypatch, endpoint) -> list[uuid.UUID]:
    """The jobs whose end was notified, one entry per call (the webhook outbox would hide a repeat: its event ids
    derive from the job's end)."""
    calls: list[uuid.UUID] = []

    def notify(job_id: uuid.UUID) -> None:
        calls.append(job_id)
        notify_job_finished(job_id)

    monkeypatch.setattr("jobs.transitions.notify_job_finished", notify)
    return calls


@pytest.fixture
def seen() -> Iterator[list[Transition]]:
    """Every transition, as a hook sees it."""
    moves: list[Transition] = []
    remove = on_transition(moves.append)
    yield moves
    remove()


@pytest.fixture
def sent(monkeypatch) -> list[uuid.UUID]:
    """The job ids handed to the workers by the commits a test runs (``django_capture_on_commit_callbacks``)."""
    ids: list[uuid.UUID] = []
    monkeypatch.setattr("jobs.queue._enqueue", ids.append)
    return ids


def _queued(session: ClinicalSession, alice) -> Job:
    return job_create_queued(session=session, media_sha256="0" * 64, requested_by=alice)


def _running(job: Job) -> uuid.UUID:
    token = uuid.uuid4()
    assert job_claim(job_id=job.pk, lease_token=token, worker_id="worker-1", lease_for=LEASE) is not None
    return token


def _moves(moves: list[Transition]) -> list[tuple[str | None, str]]:
    return [(move.from_status, move.to_status) for move in moves]


def _events(job: Job) -> list[tuple[str, str]]:
    return list(JobEvent.objects.filter(job=job).values_list("kind", "message"))


def _deliveries(job: Job) -> list[str]:
    return [d.event_type for d in WebhookDelivery.objects.all() if d.payload["data"]["job_id"] == str(job.pk)]


def _session_status(session: ClinicalSession) -> str:
    session.refresh_from_db()
    return session.status


# --- Creation ------------------------------------------------------------------------------------------


def test_creating_a_job_queues_it_marks_the_session_processing_and_sends_it_once(
    alice, session, seen, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _queued(session, alice)
        assert sent == []  # nothing leaves before the commit
    assert sent == [job.pk]
    assert job.status == QUEUED
    assert _events(job) == [("created", "")]
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert _moves(seen) == [(None, QUEUED)]
    assert (seen[0].job_id, seen[0].session_id, seen[0].practice_id) == (job.pk, session.pk, session.practice_id)
    assert (seen[0].actor_id, seen[0].stage, seen[0].error_code) == (alice.pk, Job.Stage.PREPARE, "")


def test_a_job_refused_at_creation_fails_at_once_with_one_notification_and_is_not_sent(
    alice, session, notified, seen, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        job = job_create_failed(
            session=session, media_sha256="0" * 64, requested_by=alice, error_code="AI_DISABLED", error_message="Off."
        )
    job.refresh_from_db()
    assert (job.status, job.error_code, job.error_message) == (Job.Status.FAILED, "AI_DISABLED", "Off.")
    assert job.finished_at is not None
    assert _events(job) == [("created", ""), ("failed", "AI_DISABLED")]
    assert _session_status(session) == ClinicalSession.Status.FAILED
    assert _deliveries(job) == ["job.failed"]
    assert notified == [job.pk]
    assert _moves(seen) == [(None, Job.Status.FAILED)]
    assert seen[0].error_code == "AI_DISABLED"
    # the one commit callback sends the webhook delivery; the job is not sent to the workers
    assert len(callbacks) == 1
    assert sent == []


def test_a_second_active_job_for_a_session_is_refused_by_the_database(alice, session):
    _queued(session, alice)
    with pytest.raises(IntegrityError):
        _queued(session, alice)


# --- A worker's moves ----------------------------------------------------------------------------------


def test_a_claim_runs_the_job_under_the_workers_lease(alice, session, seen):
    job = _queued(session, alice)
    token = _running(job)
    job.refresh_from_db()
    assert (job.status, job.lease_token, job.attempts, job.worker_id) == (RUNNING, token, 1, "worker-1")
    assert job.lease_expires_at is not None
    assert job.started_at is not None
    assert _events(job)[-1] == ("started", "attempt 1")
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING)]
    assert seen[-1].actor_id is None


def test_a_second_claim_of_a_running_job_writes_nothing(alice, session, seen):
    job = _queued(session, alice)
    token = _running(job)
    assert job_claim(job_id=job.pk, lease_token=uuid.uuid4(), worker_id="worker-2", lease_for=LEASE) is None
    job.refresh_from_db()
    assert (job.lease_token, job.attempts, job.worker_id) == (token, 1, "worker-1")
    assert [kind for kind, _ in _events(job)] == ["created", "started"]
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING)]


def test_a_retry_that_is_not_yet_due_cannot_be_claimed(alice, session, seen):
    job = _queued(session, alice)
    job_schedule_retry(
        job_id=job.pk, lease_token=_running(job), error_code="RATE_LIMITED", error_message="Later.", delay_seconds=60
    )
    assert job_claim(job_id=job.pk, lease_token=uuid.uuid4(), worker_id="worker-2", lease_for=LEASE) is None
    assert Job.objects.get(pk=job.pk).status == Job.Status.RETRY_WAIT


def test_success_writes_the_row_its_event_the_session_and_one_notification(alice, session, notified, seen):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(stage=Job.Stage.DONE)
    moved = job_mark_succeeded(job_id=job.pk, lease_token=_running(job))
    job.refresh_from_db()
    assert (job.status, job.lease_token, job.error_code) == (Job.Status.SUCCEEDED, None, "")
    assert job.finished_at is not None
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.SUCCEEDED, stage=Job.Stage.DONE).count() == 1
    assert _session_status(session) == ClinicalSession.Status.READY
    assert _deliveries(job) == ["job.succeeded"]
    assert notified == [job.pk]
    assert moved is not None
    assert moved == seen[-1]
    assert (moved.from_status, moved.to_status, moved.stage) == (RUNNING, Job.Status.SUCCEEDED, Job.Stage.DONE)


def test_failure_writes_the_row_its_event_the_session_and_one_notification(alice, session, notified, seen):
    job = _queued(session, alice)
    job_mark_failed(job_id=job.pk, lease_token=_running(job), error_code="VALIDATION_FAILED", error_message="No.")
    job.refresh_from_db()
    assert (job.status, job.lease_token, job.error_code, job.error_message) == (
        Job.Status.FAILED,
        None,
        "VALIDATION_FAILED",
        "No.",
    )
    assert _events(job)[-1] == ("failed", "VALIDATION_FAILED: No.")
    assert _session_status(session) == ClinicalSession.Status.FAILED
    assert _deliveries(job) == ["job.failed"]
    assert notified == [job.pk]
    assert _moves(seen)[-1] == (RUNNING, Job.Status.FAILED)
    assert seen[-1].error_code == "VALIDATION_FAILED"


def test_a_scheduled_retry_waits_with_its_error_and_leaves_the_session_processing(alice, session, notified, seen):
    job = _queued(session, alice)
    before = timezone.now()
    job_schedule_retry(
        job_id=job.pk, lease_token=_running(job), error_code="RATE_LIMITED", error_message="Busy.", delay_seconds=30
    )
    job.refresh_from_db()
    assert (job.status, job.lease_token, job.lease_expires_at) == (Job.Status.RETRY_WAIT, None, None)
    assert job.next_attempt_at is not None
    assert before + dt.timedelta(seconds=30) <= job.next_attempt_at <= timezone.now() + dt.timedelta(seconds=30)
    assert (job.error_code, job.error_message) == ("RATE_LIMITED", "Busy.")
    assert _events(job)[-1] == ("retry_scheduled", "RATE_LIMITED; next attempt in 30 s")
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert _deliveries(job) == []
    assert notified == []
    assert _moves(seen)[-1] == (RUNNING, Job.Status.RETRY_WAIT)


WORKER_MOVES: dict[str, Callable[[uuid.UUID, uuid.UUID], Transition | None]] = {
    "succeed": lambda job_id, token: job_mark_succeeded(job_id=job_id, lease_token=token),
    "fail": lambda job_id, token: job_mark_failed(job_id=job_id, lease_token=token, error_code="X", error_message="x"),
    "retry": lambda job_id, token: job_schedule_retry(
        job_id=job_id, lease_token=token, error_code="X", error_message="x", delay_seconds=1
    ),
}


@pytest.mark.parametrize("move", WORKER_MOVES)
def test_a_worker_move_on_a_lost_lease_writes_nothing(alice, session, notified, seen, move):
    job = _queued(session, alice)
    token = _running(job)
    row = Job.objects.values().get(pk=job.pk)
    events = _events(job)
    assert WORKER_MOVES[move](job.pk, uuid.uuid4()) is None
    assert Job.objects.values().get(pk=job.pk) == row
    assert _events(job) == events
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert _deliveries(job) == []
    assert notified == []
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING)]
    # and the lease holder still can
    assert WORKER_MOVES[move](job.pk, token) is not None


@pytest.mark.parametrize("move", WORKER_MOVES)
def test_a_worker_cannot_move_a_job_it_was_asked_to_stop(alice, session, seen, move):
    job = _queued(session, alice)
    token = _running(job)
    assert job_request_cancel(job_id=job.pk, requested_by=alice) is None  # running: only the request
    assert WORKER_MOVES[move](job.pk, token) is None
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (RUNNING, True)
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING)]


# --- Cancel --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("waiting", [Job.Status.QUEUED, Job.Status.RETRY_WAIT])
def test_canceling_a_waiting_job_ends_it_at_once(alice, session, notified, seen, waiting):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(status=waiting)
    moved = job_request_cancel(job_id=job.pk, requested_by=alice)
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (Job.Status.CANCELED, True)
    assert job.finished_at is not None
    assert JobEvent.objects.get(job=job, kind=JobEvent.Kind.CANCELED).actor == alice
    assert _session_status(session) == ClinicalSession.Status.RECORDED
    assert notified == [job.pk]
    assert _deliveries(job) == []  # a cancel has no webhook event
    assert moved is not None
    assert (moved.from_status, moved.to_status, moved.actor_id) == (waiting, Job.Status.CANCELED, alice.pk)
    assert _moves(seen)[-1] == (waiting, Job.Status.CANCELED)


def test_a_running_job_asked_to_stop_is_ended_by_its_worker(alice, session, notified, seen):
    job = _queued(session, alice)
    _running(job)
    job_request_cancel(job_id=job.pk, requested_by=alice)
    moved = job_mark_canceled(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.lease_token) == (Job.Status.CANCELED, None)
    assert _events(job)[-1] == ("canceled", "stopped")
    assert _session_status(session) == ClinicalSession.Status.RECORDED
    assert notified == [job.pk]
    assert moved is not None
    assert (moved.from_status, moved.actor_id) == (RUNNING, None)
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING), (RUNNING, Job.Status.CANCELED)]


@pytest.mark.parametrize("ended", Job.FINISHED_STATUSES)
def test_an_ended_job_is_not_canceled_again(alice, session, notified, seen, ended):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(status=ended)
    assert job_request_cancel(job_id=job.pk, requested_by=alice) is None
    assert job_mark_canceled(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (ended, False)
    assert [kind for kind, _ in _events(job)] == ["created"]
    assert notified == []
    assert _moves(seen) == [(None, QUEUED)]


# --- Retry by hand -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ended", [Job.Status.FAILED, Job.Status.CANCELED])
def test_retry_by_hand_requeues_the_job_at_its_stage_with_its_counts_reset(
    alice, session, seen, sent, django_capture_on_commit_callbacks, ended
):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(
        status=ended,
        stage=Job.Stage.DRAFT,
        attempts=3,
        crash_count=1,
        cancel_requested=True,
        error_code="X",
        error_message="x",
        finished_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        moved = job_requeue(job_id=job.pk, requested_by=alice)
    assert sent == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.stage, job.attempts, job.crash_count, job.cancel_requested) == (
        QUEUED,
        Job.Stage.DRAFT,
        0,
        0,
        False,
    )
    assert (job.error_code, job.error_message, job.finished_at) == ("", "", None)
    assert JobEvent.objects.get(job=job, kind=JobEvent.Kind.RETRIED).actor == alice
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert moved is not None
    assert (moved.from_status, moved.to_status, moved.stage) == (ended, QUEUED, Job.Stage.DRAFT)
    assert _moves(seen) == [(None, QUEUED), (ended, QUEUED)]


@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.SUCCEEDED])
def test_retry_by_hand_of_a_job_that_did_not_fail_writes_nothing(alice, session, seen, status):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(status=status)
    row = Job.objects.values().get(pk=job.pk)
    assert job_requeue(job_id=job.pk, requested_by=alice) is None
    assert Job.objects.values().get(pk=job.pk) == row
    assert [kind for kind, _ in _events(job)] == ["created"]
    assert _moves(seen) == [(None, QUEUED)]


# --- The dispatcher's moves ----------------------------------------------------------------------------


def test_a_due_retry_is_queued_again_once(alice, session, seen, sent, django_capture_on_commit_callbacks):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RETRY_WAIT, next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert job_requeue_due(job_id=job.pk) is not None
        assert job_requeue_due(job_id=job.pk) is None
    assert sent == [job.pk]
    assert _events(job) == [("created", "")]  # its retry_scheduled event already said when
    job.refresh_from_db()
    assert (job.status, job.next_attempt_at) == (QUEUED, None)
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert _moves(seen) == [(None, QUEUED), (Job.Status.RETRY_WAIT, QUEUED)]


def test_a_retry_not_yet_due_stays_waiting(alice, session, seen):
    job = _queued(session, alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RETRY_WAIT, next_attempt_at=timezone.now() + dt.timedelta(minutes=5)
    )
    assert job_requeue_due(job_id=job.pk) is None
    assert Job.objects.get(pk=job.pk).status == Job.Status.RETRY_WAIT
    assert _moves(seen) == [(None, QUEUED)]


def _lose_worker(job: Job) -> uuid.UUID:
    token = _running(job)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    return token


def test_reclaiming_a_lost_worker_requeues_the_job_with_the_crash_counted(
    alice, session, seen, sent, settings, django_capture_on_commit_callbacks
):
    settings.JOB_MAX_CRASHES = 3
    job = _queued(session, alice)
    token = _lose_worker(job)
    with django_capture_on_commit_callbacks(execute=True):
        moved = job_reclaim(job_id=job.pk, lease_token=token)
    assert sent == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.crash_count, job.lease_token, job.lease_expires_at) == (QUEUED, 1, None, None)
    assert _events(job)[-1] == ("reclaimed", "worker lost (crash 1)")
    assert _session_status(session) == ClinicalSession.Status.PROCESSING
    assert moved is not None
    assert (moved.from_status, moved.to_status) == (RUNNING, QUEUED)
    assert job_reclaim(job_id=job.pk, lease_token=token) is None
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING), (RUNNING, QUEUED)]


def test_reclaiming_at_the_crash_limit_fails_the_job_with_one_notification(alice, session, notified, seen, settings):
    settings.JOB_MAX_CRASHES = 1
    job = _queued(session, alice)
    moved = job_reclaim(job_id=job.pk, lease_token=_lose_worker(job))
    job.refresh_from_db()
    assert (job.status, job.crash_count, job.error_code) == (Job.Status.FAILED, 1, "WORKER_CRASHED")
    assert "stopped its worker 1 times at the step “Preparing audio”" in job.error_message
    assert _events(job)[-1] == ("failed", "WORKER_CRASHED")
    assert _session_status(session) == ClinicalSession.Status.FAILED
    assert _deliveries(job) == ["job.failed"]
    assert notified == [job.pk]
    assert moved is not None
    assert (moved.from_status, moved.to_status, moved.error_code) == (
        RUNNING,
        Job.Status.FAILED,
        "WORKER_CRASHED",
    )


def test_reclaiming_a_job_asked_to_stop_ends_it_canceled(alice, session, notified, seen):
    job = _queued(session, alice)
    token = _lose_worker(job)
    job_request_cancel(job_id=job.pk, requested_by=alice)
    moved = job_reclaim(job_id=job.pk, lease_token=token)
    job.refresh_from_db()
    assert (job.status, job.crash_count, job.lease_token) == (Job.Status.CANCELED, 0, None)
    assert _events(job)[-1] == ("canceled", "stopped")
    assert _session_status(session) == ClinicalSession.Status.RECORDED
    assert notified == [job.pk]
    assert moved is not None
    assert (moved.from_status, moved.to_status) == (RUNNING, Job.Status.CANCELED)


def test_a_lease_renewed_in_time_is_not_reclaimed(alice, session, seen):
    job = _queued(session, alice)
    token = _running(job)
    assert job_reclaim(job_id=job.pk, lease_token=token) is None
    job.refresh_from_db()
    assert (job.status, job.lease_token, job.crash_count) == (RUNNING, token, 0)
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING)]


def test_a_reclaim_with_a_stale_token_writes_nothing(alice, session, notified, seen):
    job = _queued(session, alice)
    token = _lose_worker(job)
    assert job_reclaim(job_id=job.pk, lease_token=uuid.uuid4()) is None
    job.refresh_from_db()
    assert (job.status, job.lease_token) == (RUNNING, token)
    assert [kind for kind, _ in _events(job)] == ["created", "started"]
    assert notified == []
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING)]


# --- Hooks ---------------------------------------------------------------------------------------------


def test_a_hook_sees_each_transition_of_a_troubled_run_exactly_once(alice, session, seen, settings):
    settings.JOB_MAX_CRASHES = 3
    job = _queued(session, alice)
    # its first worker dies; the dispatcher reclaims it
    _lose_worker(job)
    assert dispatch_pass()["reclaimed"] == 1
    # the second meets a transient error; the retry comes due and the dispatcher queues it again
    job_schedule_retry(
        job_id=job.pk, lease_token=_running(job), error_code="RATE_LIMITED", error_message="Busy.", delay_seconds=0
    )
    assert dispatch_pass()["started"] == 1
    # the third finishes
    Job.objects.filter(pk=job.pk).update(stage=Job.Stage.DONE)
    job_mark_succeeded(job_id=job.pk, lease_token=_running(job))
    assert dispatch_pass() == {
        "started": 0,
        "resent": 0,
        "reclaimed": 0,
        "failed_after_crashes": 0,
        "webhooks_resent": 0,
        "recordings_finished": 0,
    }

    assert _moves(seen) == [
        (None, QUEUED),
        (QUEUED, RUNNING),
        (RUNNING, QUEUED),
        (QUEUED, RUNNING),
        (RUNNING, Job.Status.RETRY_WAIT),
        (Job.Status.RETRY_WAIT, QUEUED),
        (QUEUED, RUNNING),
        (RUNNING, Job.Status.SUCCEEDED),
    ]
    assert {move.job_id for move in seen} == {job.pk}
    assert all(earlier.at <= later.at for earlier, later in itertools.pairwise(seen))


def test_a_hook_sees_a_real_run_from_start_to_success(alice, recorded_session, seen, settings):
    settings.AI_MODE = "stub"
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    assert _moves(seen) == [(None, QUEUED), (QUEUED, RUNNING), (RUNNING, Job.Status.SUCCEEDED)]
    assert seen[-1].practice_id == session.practice_id


def test_a_hook_runs_inside_the_transaction_so_its_failure_undoes_the_move(alice, session, seen):
    job = _queued(session, alice)

    def refuse(transition: Transition) -> None:
        raise RuntimeError("the hook could not record the move")

    remove = on_transition(refuse)
    try:
        with pytest.raises(RuntimeError):
            job_request_cancel(job_id=job.pk, requested_by=alice)
    finally:
        remove()
    job.refresh_from_db()
    assert job.status == QUEUED
    assert [kind for kind, _ in _events(job)] == ["created"]
    assert _session_status(session) == ClinicalSession.Status.PROCESSING


def test_a_removed_hook_is_no_longer_called(alice, session, seen):
    moves: list[Transition] = []
    remove = on_transition(moves.append)
    _queued(session, alice)
    remove()
    remove()  # removing twice is harmless
    _queued(ClinicalSessionFactory(practice=session.practice, clinician=alice), alice)
    assert len(moves) == 1
    assert len(seen) == 2


def test_a_worker_cannot_change_the_status_but_through_the_transitions(alice, session):
    job = _queued(session, alice)
    lease = Lease(job_id=job.pk, token=_running(job), worker_id="worker-1")
    with pytest.raises(ValueError, match="transitions"):
        lease.update(status=Job.Status.SUCCEEDED)
    assert Job.objects.get(pk=job.pk).status == RUNNING
