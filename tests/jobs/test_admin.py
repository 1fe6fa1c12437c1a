from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import run_job
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_see_jobs_with_their_events_but_no_transcript_text(alice, staff_client, recorded_session, settings):
    settings.AI_MODE = "stub"
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    listing = staff_client.get(reverse("admin:jobs_job_changelist")).content.decode()
    assert str(job.pk) in listing
    detail = staff_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "Stage finished" in detail
    assert session.client_label not in listing + detail
    assert session.transcript.segments[0]["text"] not in detail


def test_staff_retry_a_failed_job_from_the_admin(alice, staff_client, recorded_session, settings):
    settings.AI_MODE = "stub"
    job = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, stage=Job.Stage.TRANSCRIBE)
    response = staff_client.post(
        reverse("admin:jobs_job_changelist"), {"action": "retry_jobs", "_selected_action": [str(job.pk)]}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.stage == Job.Stage.TRANSCRIBE
