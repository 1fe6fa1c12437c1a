"""Practice settings: the name and the time zone pages show times in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey

pytestmark = pytest.mark.django_db

URL = reverse("accounts:practice_settings")


def test_practice_settings_need_a_login(client):
    assert client.get(URL)["Location"].startswith("/accounts/login/")


def test_only_an_owner_changes_the_practice_settings(bob_client, practice):
    assert bob_client.get(URL).status_code == 403
    assert bob_client.post(URL, {"name": "Taken over", "time_zone": ""}).status_code == 403
    practice.refresh_from_db()
    assert practice.name != "Taken over"


def test_practice_settings_refuse_the_wrong_method(alice_client):
    assert alice_client.put(URL).status_code == 405


def test_another_practices_owner_changes_only_their_own_practice(charlie_client, practice, other_practice):
    from accounts.models import Membership

    Membership.objects.filter(practice=other_practice).update(role=Membership.Role.OWNER)
    response = charlie_client.post(URL, {"name": "Charlie's", "time_zone": "Europe/Paris"})
    assert response.status_code == 302
    practice.refresh_from_db()
    other_practice.refresh_from_db()
    assert (practice.time_zone, other_practice.time_zone) == ("", "Europe/Paris")


def test_an_owner_sets_the_time_zone_and_pages_show_times_in_it(alice_client, practice, alice):
    key = ApiKey.objects.create(practice=practice, name="EHR", prefix="abcd1234", key_hash="0" * 64)
    ApiKey.objects.filter(pk=key.pk).update(created_at=dt.datetime(2026, 1, 15, 17, 30, tzinfo=dt.UTC))

    response = alice_client.post(URL, {"name": practice.name, "time_zone": "America/New_York"})

    assert response.status_code == 302
    practice.refresh_from_db()
    assert practice.time_zone == "America/New_York"
    page = alice_client.get(reverse("accounts:api_keys")).content.decode()
    assert "15 Jan 2026, 12:30 EST" in page


def test_without_a_time_zone_pages_use_the_servers(alice_client, practice):
    key = ApiKey.objects.create(practice=practice, name="EHR", prefix="abcd1234", key_hash="0" * 64)
    ApiKey.objects.filter(pk=key.pk).update(created_at=dt.datetime(2026, 1, 15, 17, 30, tzinfo=dt.UTC))
    page = alice_client.get(reverse("accounts:api_keys")).content.decode()
    assert f"15 Jan 2026, 17:30 {timezone.get_default_timezone_name()}" in page


def test_an_unknown_time_zone_is_refused_with_a_message(alice_client, practice):
    response = alice_client.post(URL, {"name": practice.name, "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    practice.refresh_from_db()
    assert practice.time_zone == ""
