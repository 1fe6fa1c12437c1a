from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import Job, JobEvent
from jobs.services import job_start
from jobs.tasks import run_job
from tests.conftest import AUDIO

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _stub(settings):
    settings.AI_MODE = "stub"


def test_uploading_on_the_session_page_starts_processing(alice, alice_client):
    from tests.factories import ClinicalSessionFactory

    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    with (AUDIO / "jfk.flac").open("rb") as handle:
        response = alice_client.post(reverse("jobs:upload", kwargs={"session_id": session.pk}), {"file": handle})
    assert response.status_code == 302
    job = Job.objects.get(session=session)
    assert job.status == Job.Status.QUEUED
    assert job.media_sha256 == session.recording.sha256


def test_a_bad_upload_on_the_session_page_starts_nothing(alice, alice_client):
    from tests.factories import ClinicalSessionFactory

    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    with (AUDIO / "bad_truncated.webm").open("rb") as handle:
        response = alice_client.post(reverse("jobs:upload", kwargs={"session_id": session.pk}), {"file": handle})
    assert response.status_code == 400
    assert not Job.objects.exists()


def test_process_button_starts_a_job_and_a_second_press_says_it_runs(alice, alice_client, recorded_session):
    session = recorded_session("jfk.flac")
    url = reverse("jobs:start", kwargs={"session_id": session.pk})
    assert alice_client.post(url).status_code == 302
    follow = alice_client.post(url, follow=True)
    assert "already being processed" in follow.content.decode()
    assert Job.objects.filter(session=session).count() == 1


def test_session_page_shows_progress_then_the_transcript(alice, alice_client, recorded_session):
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert "Step 1 of 4: Preparing audio" in page
    assert reverse("jobs:status", kwargs={"pk": job.pk}) in page
    run_job(str(job.pk))
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert 'id="transcript"' in page
    assert 'id="segment-0"' in page
    assert "Re-run" in page


def test_status_endpoint_reports_stage_and_progress_without_phi(alice, alice_client, recorded_session):
    from sessions.models import Transcript

    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    body = alice_client.get(reverse("jobs:status", kwargs={"pk": job.pk})).json()
    assert body["status"] == "queued"
    assert body["stage"] == "prepare"
    assert body["active"] is True
    run_job(str(job.pk))
    done = alice_client.get(reverse("jobs:status", kwargs={"pk": job.pk})).json()
    assert done["status"] == "succeeded"
    assert done["active"] is False
    text = str(done)
    assert session.client_label not in text
    assert all(segment["text"] not in text for segment in Transcript.objects.get(session=session).segments)


def test_failed_job_shows_its_message_and_retry_resumes(alice, alice_client, recorded_session):
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED, stage=Job.Stage.DRAFT, error_code="VALIDATION_FAILED", error_message="Refused."
    )
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert "Refused." in page
    assert 'id="job-retry"' in page
    assert alice_client.post(reverse("jobs:retry", kwargs={"pk": job.pk})).status_code == 302
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.stage == Job.Stage.DRAFT
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.RETRIED, actor=alice).exists()


def test_cancel_stops_a_queued_job(alice, alice_client, recorded_session):
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    assert alice_client.post(reverse("jobs:cancel", kwargs={"pk": job.pk})).status_code == 302
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELED


def test_speakers_can_be_renamed(alice, alice_client, recorded_session):
    from sessions.models import Transcript

    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    transcript = Transcript.objects.get(session=session)
    speakers = transcript.speakers()
    assert speakers
    response = alice_client.post(
        reverse("clinical_sessions:speakers", kwargs={"pk": session.pk}), {"speaker-0": "clinician"}
    )
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert transcript.speaker_names == {speakers[0]: "clinician"}
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert "<strong>Clinician:</strong>" in page


@pytest.mark.parametrize(("name", "method"), [("retry", "post"), ("cancel", "post"), ("status", "get")])
def test_another_practices_job_is_a_404(alice, charlie_client, recorded_session, name, method):
    job = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    assert getattr(charlie_client, method)(reverse(f"jobs:{name}", kwargs={"pk": job.pk})).status_code == 404


@pytest.mark.parametrize(("name", "method"), [("start", "post"), ("upload", "post")])
def test_another_practices_session_cannot_be_processed(alice, charlie_client, recorded_session, name, method):
    session = recorded_session("jfk.flac")
    response = getattr(charlie_client, method)(reverse(f"jobs:{name}", kwargs={"session_id": session.pk}))
    assert response.status_code == 404
    assert not Job.objects.exists()


@pytest.mark.parametrize(("name", "method"), [("retry", "get"), ("cancel", "get"), ("status", "post")])
def test_job_actions_refuse_the_wrong_method(alice, alice_client, recorded_session, name, method):
    job = job_start(session=recorded_session("jfk.flac"), requested_by=alice)
    assert getattr(alice_client, method)(reverse(f"jobs:{name}", kwargs={"pk": job.pk})).status_code == 405


def test_speaker_rename_of_another_practice_is_a_404(alice, charlie_client, recorded_session):
    session = recorded_session("jfk.flac")
    response = charlie_client.post(reverse("clinical_sessions:speakers", kwargs={"pk": session.pk}), {})
    assert response.status_code == 404


def test_with_ai_off_the_process_button_shows_the_refusal_on_a_failed_run(
    alice, alice_client, recorded_session, settings
):
    settings.AI_MODE = "off"
    session = recorded_session("jfk.flac")
    page = alice_client.post(reverse("jobs:start", kwargs={"session_id": session.pk}), follow=True).content.decode()
    assert "AI processing is switched off on this server." in page
    job = Job.objects.get(session=session)
    assert (job.status, job.error_code) == (Job.Status.FAILED, "AI_DISABLED")


def test_with_ai_off_a_retry_is_refused_naming_the_switch(alice, alice_client, recorded_session, settings):
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error_code="VALIDATION_FAILED")
    settings.AI_MODE = "off"
    page = alice_client.post(reverse("jobs:retry", kwargs={"pk": job.pk}), follow=True).content.decode()
    assert "AI processing is switched off on this server." in page
    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED


def test_rerunning_a_signed_session_says_the_signed_note_stays_as_it_is(alice, alice_client, recorded_session):
    from notes.models import Note
    from tests.factories import NoteFactory

    session = recorded_session("jfk.flac")
    NoteFactory(session=session, note_type=session.note_type, status=Note.Status.SIGNED)
    follow = alice_client.post(reverse("jobs:start", kwargs={"session_id": session.pk}), follow=True)
    page = follow.content.decode()
    assert "Processing started." in page
    assert "The note is signed and stays as it is" in page


def test_processing_an_unsigned_session_says_nothing_about_signatures(alice_client, recorded_session):
    session = recorded_session("jfk.flac")
    follow = alice_client.post(reverse("jobs:start", kwargs={"session_id": session.pk}), follow=True)
    page = follow.content.decode()
    assert "Processing started." in page
    assert "signed" not in page.split("Processing started.")[1][:80]


def test_without_javascript_the_processing_panel_says_to_reload(alice, alice_client, recorded_session):
    session = recorded_session("jfk.flac")
    job_start(session=session, requested_by=alice)
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()
    panel = page.split('id="processing"')[1]
    noscript = panel.split("<noscript>")[1].split("</noscript>")[0]
    assert "reload it" in noscript
