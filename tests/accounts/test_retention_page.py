"""Owners choose, in plain words, how long the practice keeps audio and files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Practice
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("accounts:retention")


def _keep(days: int | str, files: int | str = "") -> dict[str, object]:
    return {"audio": "keep", "audio_keep_days": days, "artifact_ttl_days": files}


def test_the_retention_page_needs_a_login(client):
    assert client.get(URL)["Location"].startswith("/accounts/login/")


def test_only_owners_change_the_retention(bob_client, practice):
    admin = UserFactory()
    MembershipFactory(user=admin, practice=practice, role=Membership.Role.ADMIN)
    admin_client = type(bob_client)()
    admin_client.force_login(admin)

    for client in (bob_client, admin_client):
        assert client.get(URL).status_code == 403
        assert client.post(URL, _keep(30)).status_code == 403
    practice.refresh_from_db()
    assert practice.audio_retention_days is None


def test_the_retention_page_refuses_the_wrong_method(alice_client):
    assert alice_client.put(URL).status_code == 405


def test_an_owner_changes_only_their_own_practices_retention(charlie_client, practice, other_practice):
    assert charlie_client.post(URL, _keep(14, 7)).status_code == 302

    practice.refresh_from_db()
    other_practice.refresh_from_db()
    assert (practice.audio_retention_days, practice.artifact_ttl_days) == (None, None)
    assert (other_practice.audio_retention_days, other_practice.artifact_ttl_days) == (14, 7)


def test_by_default_the_page_says_audio_goes_once_the_note_is_drafted(alice_client, settings):
    settings.AUDIO_RETENTION_HOURS = 72
    settings.ARTIFACT_TTL_DAYS = 30

    page = alice_client.get(URL).content.decode()

    assert "Audio is deleted once the note is drafted (3 days after); you can't play it back after that." in page
    assert "deleted 30 days after they are made" in page
    assert 'value="delete" id="id_audio_0" required checked' in page


def test_an_owner_keeps_audio_for_playback_and_the_page_says_so(alice, alice_client, practice):
    response = alice_client.post(URL, _keep(30, 14))

    assert response.status_code == 302
    practice.refresh_from_db()
    assert (practice.audio_retention_days, practice.artifact_ttl_days) == (30, 14)
    page = alice_client.get(URL).content.decode()
    assert "kept 30 days after its note is drafted, so it can be played back" in page
    assert "deleted 14 days after they are made" in page
    event = AuditEvent.objects.get(action=AuditEvent.Action.RETENTION_CHANGED)
    assert (event.actor_user_id, event.practice_id, event.detail) == (
        alice.pk,
        practice.pk,
        "audio kept 30 days; files kept 14 days",
    )


def test_choosing_deletion_again_goes_back_to_the_servers_default(alice_client, practice):
    Practice.objects.filter(pk=practice.pk).update(audio_retention_days=30, artifact_ttl_days=14)

    alice_client.post(URL, {"audio": "delete", "audio_keep_days": "30", "artifact_ttl_days": ""})

    practice.refresh_from_db()
    assert (practice.audio_retention_days, practice.artifact_ttl_days) == (None, None)


@pytest.mark.parametrize(
    "data",
    [_keep(0), _keep(91), _keep(""), _keep(7, 0), _keep(7, 366), _keep("many"), {"audio": "forever"}],
    ids=["zero days", "over 90 days", "no days", "files zero", "files over a year", "not a number", "bad choice"],
)
def test_retention_outside_its_bounds_is_refused_and_nothing_changes(alice_client, practice, data):
    response = alice_client.post(URL, data)

    assert response.status_code == 400
    practice.refresh_from_db()
    assert (practice.audio_retention_days, practice.artifact_ttl_days) == (None, None)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_CHANGED).exists()


def test_the_practice_settings_page_links_to_retention_and_the_audit_log(alice_client):
    page = alice_client.get(reverse("accounts:practice_settings")).content.decode()

    assert URL in page
    assert reverse("accounts:audit") in page
