"""Error reports to Sentry carry what identifies the fault and nothing a client said: request bodies, query
strings, cookies, headers, local variables and exception messages are stripped before sending."""

from __future__ import annotations

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from config.log_context import log_context
from config.sentry import before_send

PHI = "Zelda Quixote-Marchbanks"


def _event() -> dict[str, object]:
    return {
        "request": {
            "method": "POST",
            "url": f"https://scribe.example.org/api/v1/sessions?client_label={PHI}",
            "query_string": f"client_label={PHI}",
            "data": {"client_label": PHI},
            "cookies": {"sessionid": "abc"},
            "headers": {"Authorization": "Bearer ssk_1234abcd_secret", "Cookie": "sessionid=abc"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"email": "alice@alder.test", "ip_address": "203.0.113.9"},
        "extra": {"label": PHI},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"could not parse {PHI}",
                    "stacktrace": {"frames": [{"function": "view", "lineno": 3, "vars": {"label": PHI}}]},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"category": "httplib", "message": f"GET /x?q={PHI}", "data": {"url": f"/x?q={PHI}"}},
                {"category": "django.request", "message": "Internal Server Error: /api/v1/sessions"},
            ]
        },
        "logentry": {"message": "label %s refused", "params": [PHI]},
    }


def test_before_send_strips_everything_that_can_hold_phi():
    with log_context(request_id="req-1", practice_id="p-1", job_id="j-1"):
        event = before_send(_event(), {})
    assert PHI not in repr(event)
    assert "ssk_1234abcd_secret" not in repr(event)
    assert "alice@alder.test" not in repr(event)
    assert event["request"] == {"method": "POST", "url": "https://scribe.example.org/api/v1/sessions"}
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["stacktrace"]["frames"] == [{"function": "view", "lineno": 3}]
    assert event["tags"] == {"request_id": "req-1", "job_id": "j-1", "practice_id": "p-1"}
    assert event["logentry"] == {"message": "label %s refused", "params": []}


class _Captured(Transport):
    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


@pytest.fixture
def sentry(settings):
    from config import sentry as sentry_config

    transport = _Captured()
    sentry_config.sentry_init(
        dsn="https://public@sentry.invalid/1", environment="test", transport=transport, shutdown_timeout=0
    )
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()


@pytest.mark.django_db
def test_a_crash_reported_to_sentry_carries_no_phi(sentry, alice_client, monkeypatch):
    def crash(request, *args, **kwargs):
        label = PHI  # a local variable Sentry would otherwise send
        raise RuntimeError(f"failed for {label}")

    monkeypatch.setattr("sessions.views.render", crash)
    client = Client(raise_request_exception=False)
    client.cookies = alice_client.cookies
    client.get("/sessions/?q=" + PHI.replace(" ", "+"), HTTP_X_REQUEST_ID="req-crash")
    sentry_sdk.flush()
    payloads = [item.payload.json for envelope in sentry.envelopes for item in envelope.items if item.payload.json]
    events = [payload for payload in payloads if payload.get("exception")]
    assert events, "the crash was not reported"
    assert all(PHI not in repr(payload) and "Zelda" not in repr(payload) for payload in payloads)
    assert events[0]["tags"]["request_id"] == "req-crash"
