"""The API keys page of a practice's owners and admins, and the staff admin's view of keys."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import ApiKey, Membership
from tests.api.conftest import ApiClient
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "accounts:api_keys"


def test_an_owner_creates_a_key_shown_once_that_works(alice_client, alice, practice):
    response = alice_client.post(reverse(PAGE), {"name": "EHR sync"})
    assert response.status_code == 200
    key = ApiKey.objects.get()
    page = response.content.decode()
    [raw] = [word for word in page.replace('"', " ").split() if word.startswith(f"ssk_{key.prefix}_")]
    assert (key.practice, key.created_by, key.name) == (practice, alice, "EHR sync")
    assert ApiClient(raw).get("/api/v1/sessions").status_code == 200
    assert raw not in alice_client.get(reverse(PAGE)).content.decode()


def test_an_admin_may_manage_keys_too(practice):
    admin = UserFactory()
    MembershipFactory(user=admin, practice=practice, role=Membership.Role.ADMIN)
    from django.test import Client

    client = Client()
    client.force_login(admin)
    assert client.post(reverse(PAGE), {"name": "Tool"}).status_code == 200
    assert ApiKey.objects.get().created_by == admin


def test_a_key_needs_a_name(alice_client):
    response = alice_client.post(reverse(PAGE), {"name": "  "})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_the_list_shows_only_this_practices_keys(alice_client, practice, other_practice):
    ApiKey.issue(practice=practice, name="Ours")
    ApiKey.issue(practice=other_practice, name="Theirs")
    page = alice_client.get(reverse(PAGE)).content.decode()
    assert "Ours" in page
    assert "Theirs" not in page


def test_revoking_refuses_the_key_from_then_on(alice_client, alice_key):
    key = ApiKey.objects.get()
    response = alice_client.post(reverse("accounts:api_key_revoke", kwargs={"pk": key.pk}))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert ApiClient(alice_key).get("/api/v1/sessions").status_code == 401


@pytest.mark.parametrize("method", ["get", "post"])
def test_clinicians_may_not_manage_keys(bob_client, method):
    assert getattr(bob_client, method)(reverse(PAGE), {"name": "x"}).status_code == 403
    assert not ApiKey.objects.exists()


def test_a_clinician_cannot_revoke_a_key(bob_client, alice_key):
    key = ApiKey.objects.get()
    assert bob_client.post(reverse("accounts:api_key_revoke", kwargs={"pk": key.pk})).status_code == 403
    assert ApiKey.objects.get().revoked_at is None


def test_another_practices_key_cannot_be_revoked(charlie_client, alice_key):
    key = ApiKey.objects.get()
    assert charlie_client.post(reverse("accounts:api_key_revoke", kwargs={"pk": key.pk})).status_code == 404
    assert ApiKey.objects.get().revoked_at is None


def test_revoking_refuses_the_wrong_method(alice_client, alice_key):
    key = ApiKey.objects.get()
    assert alice_client.get(reverse("accounts:api_key_revoke", kwargs={"pk": key.pk})).status_code == 405


def test_staff_have_the_revoke_action_in_the_admin(alice_key):
    staff = UserFactory(is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = staff
    model_admin = site._registry[ApiKey]
    assert model_admin.has_add_permission(request)  # issued there and shown once: tests/accounts/test_admin_api_keys.py
    assert "revoke" in model_admin.get_actions(request)
