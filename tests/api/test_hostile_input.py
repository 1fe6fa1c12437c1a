from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        '{"client_label": ' + "[" * 50_000,
        "\x00\x01\x02",
        # A lone surrogate, escaped as JSON allows: not a character any database can store.
        '{"client_label": "\\ud800", "occurred_at": "2026-01-01T10:00:00Z", "note_type": "soap"}',
        '{"client_label": "a\\u0000b", "occurred_at": "2026-01-01T10:00:00Z", "note_type": "soap"}',
        "null",
        "[]",
        '"just a string"',
        '{"client_label": {"nested": true}, "occurred_at": 12, "note_type": null}',
    ],
)
def test_hostile_bodies_are_a_400_in_the_envelope(api, body):
    response = api.post("/api/v1/sessions", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "validation_error"


def test_timestamps_are_utc_whatever_the_servers_time_zone(api, settings, alice_session):
    settings.TIME_ZONE = "Europe/Berlin"
    body = api.get(f"/api/v1/sessions/{alice_session.pk}").json()
    for field in ("occurred_at", "created_at", "updated_at"):
        assert body[field].endswith(("Z", "+00:00")), (field, body[field])


def test_a_client_asking_for_xml_still_gets_json(api, alice_session):
    response = api.get(f"/api/v1/sessions/{alice_session.pk}", headers={"Accept": "application/xml"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_options_is_neither_answered_nor_advertised(api, alice_session):
    response = api.options(f"/api/v1/sessions/{alice_session.pk}")
    assert response.status_code == 405
    allowed = {method.strip() for method in response["Allow"].split(",")}
    assert "OPTIONS" not in allowed
    assert {"GET", "PATCH", "DELETE"} <= allowed


@pytest.mark.parametrize("key", ["ssk_\x00\x00\x00\x00\x00\x00\x00\x00_abc", "ssk_zzzzzzzz_abc", "ssk__", "x" * 5000])
def test_malformed_keys_are_a_401(anonymous_api, key):
    response = anonymous_api.get("/api/v1/sessions", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_required"
