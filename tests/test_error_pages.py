"""The product's own error pages, in production and in the demo's debug mode alike."""

from __future__ import annotations

import uuid

import pytest
from django.template.loader import render_to_string

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_an_unknown_page_is_the_products_not_found_page(alice_client, debug):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "Go to your sessions" in page
    assert "Django" not in page


def test_another_practices_session_is_the_products_not_found_page(charlie_client, alice, debug):
    from tests.factories import ClinicalSessionFactory

    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    response = charlie_client.get(f"/sessions/{session.pk}/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_an_unknown_api_path_is_the_json_envelope(alice_client, debug):
    response = alice_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_answers_the_anonymous_with_not_found_not_a_login(client):
    response = client.get(f"/{uuid.uuid4()}/")
    assert response.status_code == 404


def test_a_path_missing_its_trailing_slash_is_still_redirected(alice_client):
    response = alice_client.get("/sessions?page=2")
    assert response.status_code == 301
    assert response["Location"] == "/sessions/?page=2"


def test_a_post_to_an_unknown_path_is_not_found_even_without_a_csrf_token(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/sessions/new-thing").status_code == 404
    response = client.post("/api/v1/jobs/not-an-id/cancel")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_server_error_page_renders_without_a_request():
    page = render_to_string("500.html")
    assert "Something went wrong" in page
    assert "{%" not in page
