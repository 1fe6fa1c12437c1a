"""Idempotency-Key on the creates: a repeat gets the first answer, another body with the same key is refused,
and concurrent repeats make one object."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import IdempotencyRecord
from jobs.models import Job
from sessions.models import ClinicalSession, Recording
from tests.api.conftest import ApiClient
from tests.conftest import AUDIO

pytestmark = pytest.mark.django_db

BODY = {"client_label": "R. S.", "occurred_at": "2025-04-05T08:00:00Z", "note_type": "soap"}


def test_a_repeated_create_returns_the_first_answer_and_creates_once(api):
    first = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-1")
    again = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ClinicalSession.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api):
    api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-2")
    response = api.post_json("/api/v1/sessions", {**BODY, "client_label": "Other"}, HTTP_IDEMPOTENCY_KEY="create-2")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert ClinicalSession.objects.count() == 1


def test_the_body_is_compared_by_content_not_by_spelling(api):
    api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-3")
    reordered = dict(reversed(list(BODY.items())))
    response = api.post("/api/v1/sessions", reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="create-3")
    assert response.status_code == 201
    assert ClinicalSession.objects.count() == 1


def test_without_a_key_every_create_creates(api):
    api.post_json("/api/v1/sessions", BODY)
    api.post_json("/api/v1/sessions", BODY)
    assert ClinicalSession.objects.count() == 2


def test_keys_belong_to_their_caller(api, charlie_api):
    mine = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="shared-name")
    theirs = charlie_api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="shared-name")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_a_refused_create_does_not_use_up_its_key(api):
    refused = api.post_json("/api/v1/sessions", {**BODY, "note_type": "poem"}, HTTP_IDEMPOTENCY_KEY="create-4")
    assert refused.status_code == 400
    accepted = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-4")
    assert accepted.status_code == 201


def test_a_key_older_than_its_lifetime_is_forgotten(api, settings):
    first = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-5")
    old = timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS, minutes=1)
    IdempotencyRecord.objects.update(created_at=old)
    again = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="create-5")
    assert again.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("key", ["has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_a_400(api, key):
    response = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["details"]["fields"]


def test_a_repeated_job_start_returns_the_same_job_not_a_conflict(api, recorded_session, settings):
    settings.AI_MODE = "stub"
    url = f"/api/v1/sessions/{recorded_session.pk}/jobs"
    first = api.post_json(url, HTTP_IDEMPOTENCY_KEY="job-1")
    again = api.post_json(url, HTTP_IDEMPOTENCY_KEY="job-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert Job.objects.count() == 1
    assert api.post_json(url).status_code == 409


def test_a_repeated_upload_returns_the_first_recording(api, alice_session, monkeypatch):
    from sessions.services import recording_replace as original

    calls: list[int] = []

    def counted(**kwargs):
        calls.append(1)
        return original(**kwargs)

    monkeypatch.setattr("sessions.api.recording_replace", counted)
    url = f"/api/v1/sessions/{alice_session.pk}/recording"
    answers = []
    for _ in range(2):
        with (AUDIO / "jfk.flac").open("rb") as handle:
            answers.append(api.post(url, {"file": handle}, HTTP_IDEMPOTENCY_KEY="upload-1"))
    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert len(calls) == 1
    with (AUDIO / "dialogue_short.mp3").open("rb") as handle:
        other = api.post(url, {"file": handle}, HTTP_IDEMPOTENCY_KEY="upload-1")
    assert other.status_code == 422
    assert str(Recording.objects.get().pk) == answers[0].json()["id"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_create_one_session(alice_key, monkeypatch):
    from sessions.services import session_create as original

    def slow_create(**kwargs):
        # Keeps the first request running while the others arrive.
        time.sleep(0.3)
        return original(**kwargs)

    monkeypatch.setattr("sessions.api.session_create", slow_create)
    barrier = threading.Barrier(4)
    answers = []
    lock = threading.Lock()

    def call() -> None:
        try:
            client = ApiClient(alice_key)
            barrier.wait()
            response = client.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="concurrent-1")
            with lock:
                answers.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [201] * 4
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sum(answer.has_header("Idempotent-Replayed") for answer in answers) == 3
    assert ClinicalSession.objects.count() == 1


def test_a_repeat_of_a_request_still_running_waits_then_is_a_409(api, settings):
    settings.API_IDEMPOTENCY_WAIT_SECONDS = 0.2
    api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="running-2")
    IdempotencyRecord.objects.filter(key="running-2").update(status_code=None, response_body=None)
    response = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="running-2")
    assert response.status_code == 409
    assert "still being processed" in response.json()["error"]["message"]


def test_a_first_request_that_died_long_ago_frees_its_key(api, settings):
    api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="dead-1")
    IdempotencyRecord.objects.filter(key="dead-1").update(
        status_code=None, response_body=None, created_at=timezone.now() - dt.timedelta(minutes=16)
    )
    response = api.post_json("/api/v1/sessions", BODY, HTTP_IDEMPOTENCY_KEY="dead-1")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert ClinicalSession.objects.count() == 2
