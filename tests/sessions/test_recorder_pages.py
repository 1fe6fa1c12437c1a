"""The session page's recorder: the offer of an interrupted recording, finishing it (and processing), discarding it."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from jobs.models import Job
from sessions.models import ClinicalSession, LiveRecording, Recording, RecordingPart
from sessions.parts import recording_part_store
from tests.factories import ClinicalSessionFactory
from tests.support.media_recorder import live_webm, parts_at_clusters

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def parts() -> list[bytes]:
    return parts_at_clusters(live_webm())[:5]


@pytest.fixture
def session(alice) -> ClinicalSession:
    return ClinicalSessionFactory(
        practice=alice.memberships.get().practice, clinician=alice, consent_status="given", consent_method="verbal"
    )


@pytest.fixture
def interrupted(session, parts, tmp_path):
    for n, data in enumerate(parts):
        path = tmp_path / f"{n}"
        path.write_bytes(data)
        recording_part_store(
            session=session,
            n=n,
            content=path,
            sha256=hashlib.sha256(data).hexdigest(),
            received_by=None,
            recorded_seconds=5.0 * (n + 1) + (0.4 if n == len(parts) - 1 else 0),
        )
    return session


def _finish(session):
    return reverse("jobs:finish_recording", kwargs={"session_id": session.pk})


def _discard(session):
    return reverse("clinical_sessions:discard_recording", kwargs={"pk": session.pk})


def test_the_session_page_offers_an_interrupted_recording(alice_client, interrupted):
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": interrupted.pk})).content.decode()
    assert "An interrupted recording of 0:25" in page
    assert "5 parts" in page
    assert 'id="finish-recording"' in page
    assert 'id="discard-recording"' in page
    assert 'data-unfinished="true"' in page
    assert "Finish or discard the interrupted recording before recording again." in page


def test_finishing_an_interrupted_recording_assembles_and_processes_it(alice_client, interrupted, settings):
    settings.AI_MODE = "stub"
    response = alice_client.post(_finish(interrupted), follow=True)
    assert "Recording finished. Processing started." in response.content.decode()
    recording = Recording.objects.get(session=interrupted)
    assert recording.duration_seconds == pytest.approx(25, abs=1)
    assert Job.objects.get(session=interrupted).media_sha256 == recording.sha256
    assert not RecordingPart.objects.exists()
    page = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": interrupted.pk})).content.decode()
    assert "An interrupted recording" not in page
    assert 'data-completed="true"' in page


def test_a_recording_that_cannot_be_finished_says_why_and_keeps_its_parts(alice_client, session, parts, tmp_path):
    for n in (0, 2):
        path = tmp_path / f"{n}"
        path.write_bytes(parts[n])
        recording_part_store(
            session=session, n=n, content=path, sha256=hashlib.sha256(parts[n]).hexdigest(), received_by=None
        )
    response = alice_client.post(_finish(session), follow=True)
    page = response.content.decode()
    assert "The recording could not be finished: Part 1 of the recording never arrived" in page
    assert "The last attempt to finish it failed" in page
    assert RecordingPart.objects.count() == 2
    assert not Job.objects.exists()


def test_discarding_an_interrupted_recording_keeps_the_sessions_recording(alice_client, interrupted):
    response = alice_client.post(_discard(interrupted), follow=True)
    assert "The interrupted recording was discarded." in response.content.decode()
    assert not RecordingPart.objects.exists()
    assert not LiveRecording.objects.exists()


@pytest.mark.parametrize("url", [_finish, _discard])
def test_finish_and_discard_need_login_refuse_other_practices_and_the_wrong_method(
    client, charlie_client, alice_client, interrupted, url
):
    assert client.post(url(interrupted))["Location"].startswith("/accounts/login/")
    assert charlie_client.post(url(interrupted)).status_code == 404
    assert alice_client.get(url(interrupted)).status_code == 405
    assert RecordingPart.objects.count() == 5
