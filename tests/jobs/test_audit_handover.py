"""The audit trail records each handover of a session's audio to transcription and of its transcript to drafting,
on behalf of whoever asked for the run."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent, User
from jobs.models import Job
from jobs.services import job_retry, job_start
from jobs.tasks import run_job
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
HANDOVERS = (Action.SENT_TO_TRANSCRIPTION, Action.SENT_TO_DRAFTING)


def _run(session, user) -> Job:
    job = job_start(session=session, requested_by=user)
    run_job(str(job.pk))
    job.refresh_from_db()
    return job


def _handovers(job: Job) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(object_type="job", object_id=str(job.pk), action__in=HANDOVERS)
    return [(event.action, event.detail) for event in events.order_by("id")]


def test_a_run_records_sending_the_audio_then_the_transcript_as_the_requesters(alice, practice, recorded_session):
    session = recorded_session("jfk.flac")

    job = _run(session, alice)

    assert job.status == Job.Status.SUCCEEDED
    events = AuditEvent.objects.filter(action__in=HANDOVERS).order_by("id")
    assert [event.action for event in events] == [Action.SENT_TO_TRANSCRIPTION, Action.SENT_TO_DRAFTING]
    for event in events:
        assert (event.actor_user_id, event.practice_id, event.session_id) == (alice.pk, practice.pk, session.pk)
        assert (event.object_type, event.object_id, event.outcome) == ("job", str(job.pk), "success")


def test_in_demo_mode_the_trail_says_nothing_left_the_server(alice, recorded_session, settings):
    settings.AI_MODE = "stub"

    job = _run(recorded_session("jfk.flac"), alice)

    assert {detail for _, detail in _handovers(job)} == {"simulated (demo mode: nothing left the server)"}


def test_in_live_mode_the_trail_names_the_provider_model_and_server(
    alice, recorded_session, fake_anthropic, fake_openai, settings
):
    job = _run(recorded_session("jfk.flac"), alice)

    assert _handovers(job) == [
        (Action.SENT_TO_TRANSCRIPTION, f"openai {settings.TRANSCRIPTION_MODEL} at 127.0.0.1"),
        (Action.SENT_TO_DRAFTING, f"anthropic {settings.DRAFTING_MODEL} at 127.0.0.1"),
    ]


def test_a_retry_from_drafting_records_only_the_transcript_sent_again(
    alice, recorded_session, fake_anthropic, fake_openai
):
    fake_anthropic.enqueue(Reply(status=400))
    job = _run(recorded_session("jfk.flac"), alice)
    assert job.status == Job.Status.FAILED

    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))

    assert [action for action, _ in _handovers(job)] == [
        Action.SENT_TO_TRANSCRIPTION,
        Action.SENT_TO_DRAFTING,
        Action.SENT_TO_DRAFTING,
    ]


def test_a_handover_after_a_retry_by_hand_is_on_behalf_of_whoever_retried(
    alice, recorded_session, fake_anthropic, fake_openai
):
    staff = User.objects.create_superuser(email="support@sessionscribe.test", password="x")
    fake_anthropic.enqueue(Reply(status=400))
    job = _run(recorded_session("jfk.flac"), alice)

    job_retry(job=job, requested_by=staff)
    run_job(str(job.pk))

    events = AuditEvent.objects.filter(object_id=str(job.pk), action__in=HANDOVERS).order_by("id")
    assert [(event.action, event.actor_user_id) for event in events] == [
        (Action.SENT_TO_TRANSCRIPTION, alice.pk),
        (Action.SENT_TO_DRAFTING, alice.pk),
        (Action.SENT_TO_DRAFTING, staff.pk),
    ]


def test_reused_audio_is_not_recorded_as_sent_to_transcription(alice, recorded_session, fake_anthropic, fake_openai):
    _run(recorded_session("jfk.flac"), alice)

    second = _run(recorded_session("jfk.flac"), alice)

    assert [action for action, _ in _handovers(second)] == [Action.SENT_TO_DRAFTING]


def test_a_run_nobody_asked_for_is_the_systems(recorded_session, alice):
    job = _run(recorded_session("jfk.flac"), None)

    event = AuditEvent.objects.filter(object_id=str(job.pk), action__in=HANDOVERS).first()
    assert event is not None
    assert (event.actor_user_id, event.actor_label) == (None, "system")
