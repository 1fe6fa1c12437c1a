"""Every non-2xx answer under /api/ is the error envelope, Django's own 404 and 500 included; every answer
carries X-Request-ID, and the log lines of the request name it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from config.middleware import RequestIDLogFilter

pytestmark = pytest.mark.django_db


def _envelope(response) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "correlation_id", "details"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize("path", ["/api/v1/whatever", "/api/v1/sessions/not-a-uuid", "/api/v2/sessions", "/api/"])
def test_an_unknown_path_under_api_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert _envelope(response)["code"] == "not_found"


def test_an_unknown_path_under_api_is_a_json_404_for_the_anonymous_too(anonymous_api):
    response = anonymous_api.get("/api/v1/whatever")
    assert response.status_code == 404
    assert _envelope(response)["code"] == "not_found"


def test_an_unknown_page_elsewhere_is_still_a_page(alice_client):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/v1/sessions"),
        ("post", "/api/v1/usage"),
        ("get", "/api/v1/notes/{note}/sign"),
        ("post", "/api/v1/docs"),
    ],
)
def test_a_wrong_method_is_a_json_405(api, method, path, alice_session):
    from tests.factories import NoteFactory

    note = NoteFactory(session=alice_session)
    response = getattr(api, method)(path.format(note=note.pk))
    assert response.status_code == 405
    assert _envelope(response)["code"] == "method_not_allowed"


def test_the_clients_request_id_is_echoed_and_names_the_error(api):
    response = api.get("/api/v1/whatever", HTTP_X_REQUEST_ID="integrator-req-42")
    assert response["X-Request-ID"] == "integrator-req-42"
    assert _envelope(response)["correlation_id"] == "integrator-req-42"


def test_a_request_id_is_generated_when_none_is_sent(api):
    response = api.get("/api/v1/usage")
    assert len(response["X-Request-ID"]) == 32


def test_a_crash_in_a_view_is_a_json_500_logged_with_the_request_id(api, monkeypatch, caplog):
    from jobs import api as jobs_api

    def crash(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs_api.Usage, "get", crash)
    caplog.handler.addFilter(RequestIDLogFilter())
    with caplog.at_level(logging.ERROR):
        response = api.get("/api/v1/usage", HTTP_X_REQUEST_ID="crash-1")
    assert response.status_code == 500
    error = _envelope(response)
    assert error["code"] == "internal_error"
    assert "boom" not in error["message"]
    assert any(record.request_id == "crash-1" and record.levelno == logging.ERROR for record in caplog.records)


def test_a_crash_outside_the_api_views_is_a_json_500_under_api(monkeypatch):
    from api import docs as api_docs

    def crash():
        raise RuntimeError("boom")

    monkeypatch.setattr(api_docs, "openapi_schema", crash)
    response = Client(raise_request_exception=False).get("/api/v1/docs")
    assert response.status_code == 500
    assert _envelope(response)["code"] == "internal_error"


def test_a_crash_elsewhere_is_still_the_error_page(alice, monkeypatch):
    from sessions import views

    def crash(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "_render_detail", lambda *a, **k: crash(None))
    from tests.factories import ClinicalSessionFactory

    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get(f"/sessions/{session.pk}/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_a_body_over_the_memory_limit_is_a_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api.post_json("/api/v1/sessions", {"client_label": "x" * 500})
    assert response.status_code == 413
    assert _envelope(response)["code"] == "payload_too_large"


def test_a_disallowed_host_under_api_is_a_json_400(alice_key):
    response = Client(HTTP_AUTHORIZATION=f"Bearer {alice_key}", HTTP_HOST="evil.example").get("/api/v1/sessions")
    assert response.status_code == 400
    assert _envelope(response)["code"] == "validation_error"


def test_options_is_not_part_of_the_contract(api):
    response = api.options("/api/v1/sessions")
    assert response.status_code == 405
    assert _envelope(response)["code"] == "method_not_allowed"
