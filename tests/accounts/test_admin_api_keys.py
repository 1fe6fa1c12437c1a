from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client, user


def test_staff_create_a_key_in_the_admin_and_see_it_once(staff, practice):
    client, user = staff
    response = client.post(reverse("admin:accounts_apikey_add"), {"practice": str(practice.pk), "name": "EHR sync"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    raw = response.context["raw_key"]
    assert raw.startswith(f"ssk_{key.prefix}_")
    assert raw in response.content.decode()
    assert key.key_hash == ApiKey.hash_secret(raw)
    assert key.created_by == user
    assert key.practice == practice
    # never again: the key's own page shows its prefix, not the secret or its hash
    page = client.get(reverse("admin:accounts_apikey_change", args=[key.pk])).content.decode()
    assert raw not in page
    assert key.key_hash not in page


def test_staff_revoke_keys_from_the_list(staff, practice):
    client, _ = staff
    key, _ = ApiKey.issue(practice=practice, name="old")
    response = client.post(
        reverse("admin:accounts_apikey_changelist"), {"action": "revoke", "_selected_action": [str(key.pk)]}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
