"""The runner pass for outside schedulers (token-authenticated) and the month's usage."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import Job, PurgeRun
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

TOKEN = "runner-token-0123456789"


@pytest.fixture
def passes(monkeypatch):
    """Records the dispatch and purge passes the endpoint runs."""
    from jobs import api as jobs_api
    from jobs import purge

    ran: list[str] = []

    def dispatch():
        ran.append("dispatch")
        return {"started": 1, "resent": 0, "reclaimed": 2, "failed_after_crashes": 0}

    def purge_run(*, dry_run: bool = False):
        ran.append("purge")
        return PurgeRun(dry_run=dry_run, counts={"artifacts": 3, "recordings_audio": 1})

    monkeypatch.setattr(jobs_api, "dispatch_pass", dispatch)
    monkeypatch.setattr(purge, "purge_run", purge_run)
    return ran


def test_the_runner_runs_dispatch_and_purge_and_returns_their_counts(passes, settings):
    settings.JOBS_RUNNER_TOKEN = TOKEN
    response = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").post("/api/v1/jobs/runner")
    assert response.status_code == 200
    assert response.json() == {
        "dispatch": {"started": 1, "resent": 0, "reclaimed": 2, "failed_after_crashes": 0},
        "purge": {"artifacts": 3, "recordings_audio": 1},
    }
    assert passes == ["dispatch", "purge"]


def test_the_runner_without_a_token_is_a_401(passes, settings):
    settings.JOBS_RUNNER_TOKEN = TOKEN
    response = Client().post("/api/v1/jobs/runner")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert passes == []


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer runner-token-012345678"])
def test_the_runner_with_another_token_is_a_403(passes, settings, header):
    settings.JOBS_RUNNER_TOKEN = TOKEN
    response = Client(HTTP_AUTHORIZATION=header).post("/api/v1/jobs/runner")
    assert response.status_code == 403
    assert passes == []


def test_an_api_key_cannot_run_the_runner(passes, settings, alice_key):
    settings.JOBS_RUNNER_TOKEN = TOKEN
    assert ApiClient(alice_key).post("/api/v1/jobs/runner").status_code == 403
    assert passes == []


def test_the_runner_is_off_while_no_token_is_set(passes, settings):
    settings.JOBS_RUNNER_TOKEN = ""
    response = Client(HTTP_AUTHORIZATION="Bearer anything").post("/api/v1/jobs/runner")
    assert response.status_code == 404
    assert "JOBS_RUNNER_TOKEN" in response.json()["error"]["message"]
    assert passes == []


def test_the_runner_only_takes_post(passes, settings):
    settings.JOBS_RUNNER_TOKEN = TOKEN
    response = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").get("/api/v1/jobs/runner")
    assert response.status_code == 405
    assert passes == []


def test_usage_counts_this_months_processed_minutes(api, succeeded_job):
    body = api.get("/api/v1/usage").json()
    assert body["jobs_succeeded"] == 1
    assert body["audio_minutes"] == pytest.approx(11.0 / 60, abs=0.02)
    assert body["limits"] is None
    start = dt.datetime.fromisoformat(body["period_start"])
    end = dt.datetime.fromisoformat(body["period_end"])
    assert start <= timezone.now() < end
    assert start.day == end.day == 1


def test_usage_leaves_out_jobs_of_last_month(api, succeeded_job, alice):
    Job.objects.filter(pk=succeeded_job.pk).update(finished_at=timezone.now() - dt.timedelta(days=45))
    body = api.get("/api/v1/usage").json()
    assert (body["jobs_succeeded"], body["audio_minutes"]) == (0, 0.0)
