"""Failed bearer keys are counted per client address: past API_KEY_FAILURES_PER_IP the address gets 429 with
Retry-After, even with a right key, while other addresses are unaffected."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_window_start")]

PROBER = "203.0.113.9"
CLINIC = "198.51.100.7"


def test_an_address_guessing_keys_is_throttled_and_others_are_not(alice_key, settings):
    settings.API_KEY_FAILURES_PER_IP = "5/min"
    wrong = "ssk_0123abcd_" + "x" * 43
    prober = ApiClient(wrong, REMOTE_ADDR=PROBER)
    for _ in range(5):
        assert prober.get("/api/v1/sessions").status_code == 401
    throttled = prober.get("/api/v1/sessions")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    # The right key from the throttled address waits too; the same key from elsewhere works.
    assert ApiClient(alice_key, REMOTE_ADDR=PROBER).get("/api/v1/sessions").status_code == 429
    assert ApiClient(alice_key, REMOTE_ADDR=CLINIC).get("/api/v1/sessions").status_code == 200


def test_successful_calls_are_not_counted(alice_key, settings):
    settings.API_KEY_FAILURES_PER_IP = "3/min"
    client = ApiClient(alice_key, REMOTE_ADDR=CLINIC)
    for _ in range(10):
        assert client.get("/api/v1/sessions").status_code == 200
