"""Job creation and uploads are limited per key and per client address, counted in the database."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import Client

from accounts.models import RateLimitCounter
from accounts.rate_limits import parse_rate, rate_counter_hit
from tests.api.conftest import ApiClient
from tests.conftest import AUDIO

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_window_start")]


@pytest.fixture(autouse=True)
def _stub(settings):
    settings.AI_MODE = "stub"


def test_a_flood_of_job_starts_is_cut_off_with_retry_after(api, recorded_session, settings):
    settings.API_RATE_JOBS = "3/min"
    url = f"/api/v1/sessions/{recorded_session.pk}/jobs"
    statuses = [api.post_json(url).status_code for _ in range(3)]
    assert statuses == [202, 409, 409]
    response = api.post_json(url)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert error["details"]["retry_after_seconds"] == wait


def test_the_limit_is_per_key(api, charlie_api, recorded_session, settings, other_practice, charlie):
    from tests.factories import ClinicalSessionFactory

    settings.API_RATE_JOBS = "1/min"
    url = f"/api/v1/sessions/{recorded_session.pk}/jobs"
    assert api.post_json(url).status_code == 202
    assert api.post_json(url).status_code == 429
    theirs = ClinicalSessionFactory(practice=other_practice, clinician=charlie)
    assert charlie_api.post_json(f"/api/v1/sessions/{theirs.pk}/jobs").status_code == 409  # no recording, not 429


def test_the_limit_is_per_address_too(alice_key, charlie_key, recorded_session, settings):
    settings.API_RATE_JOBS_PER_IP = "1/min"
    url = f"/api/v1/sessions/{recorded_session.pk}/jobs"
    assert ApiClient(alice_key, REMOTE_ADDR="10.1.1.1").post_json(url).status_code == 202
    assert ApiClient(charlie_key, REMOTE_ADDR="10.1.1.1").post_json(url).status_code == 429
    assert ApiClient(charlie_key, REMOTE_ADDR="10.1.1.2").post_json(url).status_code == 404


def test_behind_a_proxy_the_forwarded_address_is_counted(alice_key, recorded_session, settings):
    settings.API_RATE_JOBS_PER_IP = "1/min"
    settings.API_NUM_PROXIES = 1
    url = f"/api/v1/sessions/{recorded_session.pk}/jobs"
    proxy = {"REMOTE_ADDR": "10.0.0.9"}
    assert ApiClient(alice_key, HTTP_X_FORWARDED_FOR="1.2.3.4", **proxy).post_json(url).status_code == 202
    assert ApiClient(alice_key, HTTP_X_FORWARDED_FOR="5.6.7.8", **proxy).post_json(url).status_code == 409
    # A client cannot pick its own address by prepending to the header.
    spoofed = ApiClient(alice_key, HTTP_X_FORWARDED_FOR="9.9.9.9, 1.2.3.4", **proxy).post_json(url)
    assert spoofed.status_code == 429


def test_uploads_are_limited(api, alice_session, settings):
    settings.API_RATE_UPLOADS = "1/min"
    url = f"/api/v1/sessions/{alice_session.pk}/recording"
    with (AUDIO / "jfk.flac").open("rb") as handle:
        assert api.post(url, {"file": handle}).status_code == 201
    with (AUDIO / "jfk.flac").open("rb") as handle:
        response = api.post(url, {"file": handle})
    assert response.status_code == 429
    assert response["Retry-After"]


def test_reading_is_not_limited(api, recorded_session, settings):
    settings.API_RATE_JOBS = "1/min"
    for _ in range(3):
        assert api.get(f"/api/v1/sessions/{recorded_session.pk}").status_code == 200


def test_signed_in_users_are_limited_per_account(alice, recorded_session, settings):
    settings.API_RATE_JOBS = "1/min"
    client = Client()
    client.force_login(alice)
    url = f"/api/v1/sessions/{recorded_session.pk}/jobs"
    assert client.post(url, content_type="application/json").status_code == 202
    assert client.post(url, content_type="application/json").status_code == 429


def test_counters_live_in_the_database_one_row_per_window():
    assert rate_counter_hit(scope="jobs", identity="key:a", window_seconds=60, now=120.0) == (1, 120)
    assert rate_counter_hit(scope="jobs", identity="key:a", window_seconds=60, now=150.0) == (2, 120)
    assert rate_counter_hit(scope="jobs", identity="key:b", window_seconds=60, now=150.0) == (1, 120)
    assert rate_counter_hit(scope="jobs", identity="key:a", window_seconds=60, now=185.0) == (1, 180)
    # A caller's finished windows are dropped when its next window starts.
    assert list(RateLimitCounter.objects.filter(identity="key:a").values_list("window_start", "count")) == [(180, 1)]


@pytest.mark.parametrize(("rate", "parsed"), [("30/min", (30, 60)), ("5/s", (5, 1)), ("1000/day", (1000, 86400))])
def test_rates_are_read_from_their_usual_spelling(rate, parsed):
    assert parse_rate(rate) == parsed


def test_a_malformed_rate_setting_is_reported_at_start_up(settings):
    settings.API_RATE_UPLOADS = "lots"
    messages = [message for message in run_checks() if message.id == "integrations.E001"]
    assert len(messages) == 1
    assert "API_RATE_UPLOADS" in str(messages[0].hint)
