"""What every answer says to browsers and proxies: nothing dynamic is cached, the Content-Security-Policy allows
no inline script or style (and no template writes one), and under /api/ every error is the JSON envelope whatever
DEBUG says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template.loader import get_template
from django.urls import reverse

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_a_signed_in_page_is_never_stored(alice_client):
    response = alice_client.get(reverse("clinical_sessions:list"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"


def test_an_api_answer_is_never_stored(alice_key):
    response = ApiClient(alice_key).get("/api/v1/sessions")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"


def test_an_api_error_is_never_stored(alice_key):
    response = ApiClient(alice_key).get("/api/v1/sessions/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]


def test_the_login_page_is_never_stored(client):
    assert "no-store" in client.get(reverse("accounts:login"))["Cache-Control"]


def test_the_policy_allows_no_inline_script_or_style(client):
    policy = client.get(reverse("accounts:login"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_writes_inline_script_handlers_or_style(path):
    html = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline <script>: move it to static/js/"
    assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", html), "an on…= handler: attach it from static/js/"
    assert not re.search(r"<[a-zA-Z][^>]*\sstyle\s*=", html), "a style= attribute: use a class in static/css/"


# django-allauth's own templates for these pages write inline <script> blocks (JSON data and its onload hook): every
# one of them that a route can render is this project's instead, which the test above reads.
ALLAUTH_PAGES_WITH_SCRIPTS = [
    "account/login.html",
    "account/reauthenticate.html",
    "mfa/authenticate.html",
    "mfa/reauthenticate.html",
    "mfa/index.html",
    "mfa/recovery_codes/index.html",
    "mfa/webauthn/add_form.html",
    "mfa/webauthn/authenticator_list.html",
    "mfa/webauthn/edit_form.html",
    "mfa/webauthn/authenticator_confirm_delete.html",
    "mfa/webauthn/reauthenticate.html",
]


@pytest.mark.parametrize("name", ALLAUTH_PAGES_WITH_SCRIPTS)
def test_the_allauth_pages_render_the_projects_templates(name):
    origin = Path(get_template(name).origin.name)  # type: ignore[attr-defined]  # Django's backend has one
    assert origin.is_relative_to(TEMPLATES), f"{name} comes from {origin}"


# --- The API's envelope, whatever DEBUG says -------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _envelope(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["correlation_id"] == response["X-Request-ID"]


def test_an_unknown_api_path_is_a_json_404(debug, alice_key):
    _envelope(ApiClient(alice_key).get("/api/v1/no-such-thing"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(debug, alice_key):
    response = ApiClient(alice_key).put("/api/v1/sessions", "{}", content_type="application/json")
    _envelope(response, 405, "method_not_allowed")


def test_a_crash_is_a_json_500(debug, alice_key, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("sessions.api.paginate", crash)
    client = ApiClient(alice_key, raise_request_exception=False)
    _envelope(client.get("/api/v1/sessions"), 500, "internal_error")


def test_an_unreadable_request_is_a_json_400(debug, alice_key):
    response = ApiClient(alice_key).get("/api/v1/sessions", HTTP_HOST="evil.example")
    _envelope(response, 400, "validation_error")


def test_a_crash_in_authentication_is_a_json_500(debug, alice_key, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("api.authentication.authenticate_api_key", crash)
    client = ApiClient(alice_key, raise_request_exception=False)
    _envelope(client.get("/api/v1/sessions"), 500, "internal_error")
