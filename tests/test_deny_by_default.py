"""Every route refuses the anonymous, except an explicit allowlist."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

pytestmark = pytest.mark.django_db

# Routes that must answer the anonymous: logging in, recovering a password, probes.
PUBLIC_ROUTES = {
    "accounts:login",
    "accounts:logout",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "healthz",
    "readyz",
    "admin:login",
    # The API's contract (OpenAPI schema and its reference page) holds no data and is read before one has a key.
    "api:schema",
    "api:docs",
    # The last pattern, for paths nothing else takes: a 404 page that names nothing.
    "not_found",
    # An invited colleague opens the emailed link before having an account; the signed token is the credential.
    "accounts:invitation_accept",
    # Stripe posts billing events here: it cannot log in, so each delivery is authenticated by its signature
    # (STRIPE_WEBHOOK_SECRET, checked on the raw body) and an unsigned one is refused with 400.
    "billing:stripe_webhook",
    # django-allauth's names for the login and password-reset pages above (same paths, same views), and its page
    # for an inactive account, which says only that: allauth reverses these names.
    "account_login",
    "account_reset_password",
    "account_inactive",
    "account_logout",
    # Signing in with a passkey alone: the passkey's signature over the server's challenge is the credential (allauth
    # limits the attempts per address). A GET without JSON is sent to the login page.
    "mfa_login_webauthn",
    # Prometheus scrapes with a bearer token, not a login; without the right token it is a 404 (docs/operations.md).
    "metrics",
}
# What an allowlisted route answers the anonymous when its URL holds made-up values instead of a real one, or
# when it only takes POST (a GET is refused by method, not by a login redirect).
PUBLIC_ROUTE_STATUS = {
    "accounts:invitation_accept": 404,
    "billing:stripe_webhook": 405,
    # Staff sign in through the one login page (with its second factor and lockout): the admin's sends there.
    "admin:login": 302,
    # Without METRICS_TOKEN's bearer the endpoint does not exist.
    "metrics": 404,
    "mfa_login_webauthn": 302,
}

_SAMPLES = {"uuid": str(uuid.uuid4()), "int": "1", "slug": "x", "str": "x", "path": "x"}


def _fill_route(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: _SAMPLES.get(m.group(1) or "str", "x"), route)


def _fill_regex(regex: str) -> str:
    def group(match: re.Match[str]) -> str:
        body = match.group(1)
        alternatives = body.split("|")
        return alternatives[0] if all(re.fullmatch(r"[\w-]+", a) for a in alternatives) else "1"

    text = re.sub(r"\(\?P<\w+>((?:[^()]|\([^()]*\))*)\)", group, regex)
    return text.lstrip("^").rstrip("$").replace("\\", "")


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern.pattern, RoutePattern):
            piece = _fill_route(str(pattern.pattern))
        elif isinstance(pattern.pattern, RegexPattern):
            piece = _fill_regex(pattern.pattern.regex.pattern)
        else:  # pragma: no cover — Django has only these two kinds
            raise AssertionError(f"unknown pattern type {pattern.pattern!r}")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + piece, inner)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed {prefix + piece}>"
            yield name, "/" + prefix + piece


ROUTES = sorted(set(_walk(get_resolver().url_patterns)))


def _refuses(response) -> bool:
    if response.status_code in {401, 403}:
        return True
    if response.status_code in {301, 302}:
        location = response["Location"]
        return "/login/" in location
    return False


def test_the_walk_found_the_routes_it_should():
    names = {name for name, _ in ROUTES}
    assert {"clinical_sessions:list", "clinical_sessions:detail", "clinical_sessions:upload", "healthz"} <= names
    assert any(name.startswith("admin:") for name in names)
    assert len(ROUTES) > 40


PROTECTED = [(name, url) for name, url in ROUTES if name not in PUBLIC_ROUTES]


@pytest.mark.parametrize(("name", "url"), PROTECTED, ids=[name for name, _ in PROTECTED])
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_route_refuses_the_anonymous_unless_allowlisted(client, name, url, method):
    response = getattr(client, method)(url)
    assert _refuses(response), f"{method.upper()} {url} ({name}) answered {response.status_code} to the anonymous"


@pytest.mark.parametrize("name", sorted(PUBLIC_ROUTES - {"accounts:logout", "account_logout", "not_found"}))
def test_allowlisted_routes_answer_the_anonymous(client, name):
    urls = [url for route_name, url in ROUTES if route_name == name]
    assert urls, f"{name} is allowlisted but no longer routed"
    response = client.get(urls[0])
    assert response.status_code == PUBLIC_ROUTE_STATUS.get(name, 200)
