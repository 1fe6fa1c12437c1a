"""API keys as bearer tokens, and the browser session (with CSRF) as the other way in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from api.authentication import LAST_USED_RESOLUTION
from tests.api.conftest import ApiClient
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db


def test_a_valid_key_reads_its_practices_sessions(api, alice_session):
    response = api.get("/api/v1/sessions")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(alice_session.pk)]


def test_a_key_sees_every_clinicians_sessions_of_its_practice(api, alice_session, bob, practice):
    bobs = ClinicalSessionFactory(practice=practice, clinician=bob)
    ids = {row["id"] for row in api.get("/api/v1/sessions").json()["results"]}
    assert ids == {str(alice_session.pk), str(bobs.pk)}


@pytest.mark.parametrize(
    "header",
    ["Bearer ssk_nothing", "Bearer ssk_abcd1234_wrongsecret", "Bearer not-a-key", "Bearer sk_a_b", "Bearer "],
)
def test_a_malformed_or_unknown_key_is_refused(header, alice_key):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/sessions")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_required"


def test_a_key_with_the_right_prefix_but_another_secret_is_refused(alice_key):
    prefix = alice_key.split("_")[1]
    response = ApiClient(f"ssk_{prefix}_{'x' * 43}").get("/api/v1/sessions")
    assert response.status_code == 401


def test_a_key_in_the_query_string_is_not_accepted(alice_key, alice_session):
    response = Client().get("/api/v1/sessions", {"api_key": alice_key, "key": alice_key, "token": alice_key})
    assert response.status_code == 401


def test_only_the_keys_hash_is_stored(alice_key):
    stored = ApiKey.objects.get()
    assert alice_key not in {stored.prefix, stored.key_hash}
    assert stored.key_hash == ApiKey.hash_secret(alice_key)


def test_use_is_recorded_at_most_once_a_minute(api, django_assert_num_queries):
    assert api.get("/api/v1/usage").status_code == 200
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    api.get("/api/v1/usage")
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=timezone.now() - LAST_USED_RESOLUTION - dt.timedelta(seconds=1))
    api.get("/api/v1/usage")
    latest = ApiKey.objects.get().last_used_at
    assert latest is not None
    assert latest > first


def test_the_request_knows_which_key_called(api, monkeypatch):
    from jobs import api as jobs_api

    seen = []
    original = jobs_api.Usage.get

    def spy(self, request):
        seen.append(request.auth)
        return original(self, request)

    monkeypatch.setattr(jobs_api.Usage, "get", spy)
    api.get("/api/v1/usage")
    assert seen == [ApiKey.objects.get()]


def test_revoking_a_key_refuses_it_at_once(api, alice_session):
    assert api.get("/api/v1/sessions").status_code == 200
    ApiKey.objects.get().revoke()
    assert api.get("/api/v1/sessions").status_code == 401


def test_a_key_acts_for_the_member_who_created_it(api, alice, practice):
    response = api.post_json(
        "/api/v1/sessions", {"client_label": "A", "occurred_at": "2025-01-02T03:04:05Z", "note_type": "soap"}
    )
    assert response.json()["clinician_id"] == str(alice.pk)


def test_a_key_from_the_command_line_acts_for_the_practice_owner(alice, practice):
    _, raw = ApiKey.issue(practice=practice, name="cli")
    response = ApiClient(raw).post_json(
        "/api/v1/sessions", {"client_label": "A", "occurred_at": "2025-01-02T03:04:05Z", "note_type": "soap"}
    )
    assert response.status_code == 201
    assert response.json()["clinician_id"] == str(alice.pk)


def test_a_signed_in_clinician_sees_only_their_own_sessions(bob_client, bob, alice_session, practice):
    bobs = ClinicalSessionFactory(practice=practice, clinician=bob)
    ids = [row["id"] for row in bob_client.get("/api/v1/sessions").json()["results"]]
    assert ids == [str(bobs.pk)]
    assert bob_client.get(f"/api/v1/sessions/{alice_session.pk}").status_code == 404


def test_a_signed_in_owner_sees_the_whole_practice(alice_client, bob, alice_session, practice):
    bobs = ClinicalSessionFactory(practice=practice, clinician=bob)
    ids = {row["id"] for row in alice_client.get("/api/v1/sessions").json()["results"]}
    assert ids == {str(alice_session.pk), str(bobs.pk)}


def test_a_browser_session_must_send_the_csrf_token_to_write(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    body = {"client_label": "A", "occurred_at": "2025-01-02T03:04:05Z", "note_type": "soap"}
    refused = client.post("/api/v1/sessions", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    client.get("/sessions/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/sessions", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_a_bearer_key_needs_no_csrf_token(alice_key):
    client = ApiClient(alice_key, enforce_csrf_checks=True)
    body = {"client_label": "A", "occurred_at": "2025-01-02T03:04:05Z", "note_type": "soap"}
    assert client.post_json("/api/v1/sessions", body).status_code == 201


def test_a_user_without_a_practice_cannot_create_sessions(db):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    body = {"client_label": "A", "occurred_at": "2025-01-02T03:04:05Z", "note_type": "soap"}
    response = client.post("/api/v1/sessions", body, content_type="application/json")
    assert response.status_code == 403
