"""The audit trail is append-only, knows who asked from where, and records the security events."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.audit import audit_record, client_ip
from accounts.models import ApiKey, AuditEvent, AuditTrailIsAppendOnly, Membership, User
from accounts.services import (
    MembershipChangeRefused,
    invitation_accept,
    invitation_create,
    membership_change_role,
    membership_remove,
)
from tests.api.conftest import ApiClient
from tests.factories import TEST_PASSWORD, ClinicalSessionFactory, MembershipFactory
from tests.support.audit import events_since, last_event_id

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
Outcome = AuditEvent.Outcome


def _event(practice=None) -> AuditEvent:
    return audit_record(action=Action.VIEW, actor=None, practice_id=practice.pk if practice else None)


# --- Append-only ----------------------------------------------------------------------------------


def test_an_audit_event_refuses_to_be_saved_again(practice):
    event = _event(practice)
    event.action = Action.DELETE

    with pytest.raises(AuditTrailIsAppendOnly):
        event.save()

    assert AuditEvent.objects.get(pk=event.pk).action == Action.VIEW


def test_an_audit_event_refuses_to_be_deleted(practice):
    event = _event(practice)

    with pytest.raises(AuditTrailIsAppendOnly):
        event.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action=Action.DELETE)

    assert AuditEvent.objects.filter(pk=event.pk, action=Action.VIEW).exists()


def test_the_database_refuses_to_update_an_audit_event_whatever_code_tries(practice):
    event = _event(practice)

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET action = 'delete' WHERE id = %s", [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).action == Action.VIEW


@pytest.mark.postgres
def test_postgresql_refuses_to_delete_an_audit_event_outside_the_retention_purge(practice):
    event = _event(practice)

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_staff_read_the_trail_in_the_admin_without_a_way_to_change_it(practice):
    staff = User.objects.create_superuser(email="support@sessionscribe.test", password="x")
    event = _event(practice)
    client = Client()
    client.force_login(staff)

    assert client.get(reverse("admin:accounts_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- Where a request comes from ----------------------------------------------------------------------


def _request(remote: str = "203.0.113.9", forwarded: str | None = None):
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


def test_without_trusted_proxies_the_connecting_address_is_the_client_and_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(_request(forwarded="198.51.100.7")) == "203.0.113.9"


def test_behind_one_trusted_proxy_the_address_it_appended_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    # The client wrote the first entry itself; only the last one was written by our proxy.
    assert client_ip(_request(remote="10.0.0.2", forwarded="1.2.3.4, 198.51.100.7")) == "198.51.100.7"


def test_behind_two_trusted_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(_request(remote="10.0.0.2", forwarded="1.2.3.4, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"


def test_a_request_that_skipped_the_proxies_is_known_by_its_connecting_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(_request(forwarded="198.51.100.7")) == "203.0.113.9"


def test_an_address_that_is_not_one_is_not_recorded(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(_request(remote="10.0.0.2", forwarded="not-an-address")) is None


def test_the_event_of_a_request_carries_the_trusted_client_address(settings, alice, alice_client, practice):
    settings.TRUSTED_PROXY_COUNT = 1
    session = ClinicalSessionFactory(practice=practice, clinician=alice)

    alice_client.get(
        reverse("clinical_sessions:detail", args=[session.pk]),
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
        REMOTE_ADDR="10.0.0.2",
    )

    assert AuditEvent.objects.get(action=Action.VIEW).ip == "198.51.100.7"


# --- Tenancy of the events of requests ---------------------------------------------------------------


def test_an_attempt_on_another_practices_session_is_not_found_and_recorded_on_the_callers_practice(
    alice, charlie, charlie_client, practice, other_practice
):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    before = last_event_id()

    response = charlie_client.get(reverse("clinical_sessions:detail", args=[session.pk]))

    assert response.status_code == 404
    (event,) = events_since(before)
    assert (event.outcome, event.practice_id, event.actor_user_id) == (Outcome.NOT_FOUND, other_practice.pk, charlie.pk)
    assert not AuditEvent.objects.filter(practice_id=practice.pk).exists()


def test_an_attempt_on_another_practices_note_does_not_name_its_session(alice, charlie, practice):
    from notes.services import note_open

    note = note_open(session=ClinicalSessionFactory(practice=practice, clinician=alice), opened_by=alice)
    _, raw_key = ApiKey.issue(practice=charlie.memberships.get().practice, name="Cedar", created_by=charlie)
    before = last_event_id()

    response = ApiClient(raw_key).get(f"/api/v1/notes/{note.pk}")

    assert response.status_code == 404
    (event,) = events_since(before)
    assert (event.outcome, event.object_id, event.session_id) == (Outcome.NOT_FOUND, str(note.pk), None)


def test_a_colleagues_attempt_on_a_session_they_may_not_see_shows_on_that_session(alice, bob, bob_client, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)

    assert bob_client.get(reverse("clinical_sessions:detail", args=[session.pk])).status_code == 404

    (event,) = AuditEvent.objects.about("session", str(session.pk))
    assert (event.actor_user_id, event.outcome, event.practice_id) == (bob.pk, Outcome.NOT_FOUND, practice.pk)


def test_the_anonymous_are_refused_before_any_view_and_leave_no_event(client, alice, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)

    client.get(reverse("clinical_sessions:detail", args=[session.pk]))
    ApiClient("ssk_00000000_wrong").get(f"/api/v1/sessions/{session.pk}")

    assert not AuditEvent.objects.exists()


def test_a_note_event_names_its_session_once_the_note_was_shown(alice, alice_client, practice):
    from notes.services import note_open

    note = note_open(session=ClinicalSessionFactory(practice=practice, clinician=alice), opened_by=alice)

    alice_client.get(reverse("notes:edit", args=[note.pk]))

    event = AuditEvent.objects.get(action=Action.VIEW, object_type="note")
    assert (event.object_id, event.session_id) == (str(note.pk), note.session_id)


# --- Security events ---------------------------------------------------------------------------------


def test_a_login_is_recorded_with_the_members_practice_and_address(client, alice, practice):
    client.post(reverse("accounts:login"), {"login": "alice@alder.test", "password": TEST_PASSWORD})

    event = AuditEvent.objects.get(action=Action.LOGIN)
    assert (event.actor_user_id, event.practice_id, event.ip, event.outcome) == (
        alice.pk,
        practice.pk,
        "127.0.0.1",
        Outcome.SUCCESS,
    )


def test_a_failed_login_names_the_account_tried_and_goes_on_its_practice(client, alice, practice):
    client.post(reverse("accounts:login"), {"login": "alice@alder.test", "password": "not-her-password"})

    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert (event.object_type, event.object_id, event.practice_id) == ("user", str(alice.pk), practice.pk)
    assert (event.actor_user_id, event.outcome) == (None, Outcome.DENIED)
    assert "not-her-password" not in str(list(AuditEvent.objects.values()))


def test_a_failed_login_for_no_account_stores_nothing_that_was_typed(client, alice):
    client.post(reverse("accounts:login"), {"login": "typo-of-a-secret@nowhere.test", "password": "hunter2hunter2"})

    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert (event.object_id, event.practice_id, event.actor_label) == ("", None, "unknown")
    assert "typo-of-a-secret" not in str(list(AuditEvent.objects.values()))


def test_a_logout_is_recorded(alice, alice_client, practice):
    alice_client.post(reverse("accounts:logout"))

    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor_user_id=alice.pk, practice_id=practice.pk).exists()


def test_staff_logging_into_the_admin_is_recorded_without_a_practice(client):
    User.objects.create_superuser(email="support@sessionscribe.test", password=TEST_PASSWORD)

    client.post(reverse("accounts:login"), {"login": "support@sessionscribe.test", "password": TEST_PASSWORD})

    assert AuditEvent.objects.get(action=Action.LOGIN).practice_id is None


def test_creating_and_revoking_a_key_on_the_page_is_recorded(alice, alice_client, practice):
    alice_client.post(reverse("accounts:api_keys"), {"name": "EHR sync"})
    key = ApiKey.objects.get()
    alice_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))

    created = AuditEvent.objects.get(action=Action.KEY_CREATED)
    revoked = AuditEvent.objects.get(action=Action.KEY_REVOKED)
    for event in (created, revoked):
        assert (event.actor_user_id, event.practice_id, event.object_type, event.object_id) == (
            alice.pk,
            practice.pk,
            "api_key",
            str(key.pk),
        )


def test_revoking_a_revoked_key_records_nothing_more(alice, alice_client):
    alice_client.post(reverse("accounts:api_keys"), {"name": "EHR sync"})
    key = ApiKey.objects.get()
    alice_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))
    alice_client.post(reverse("accounts:api_key_revoke", args=[key.pk]))

    assert AuditEvent.objects.filter(action=Action.KEY_REVOKED).count() == 1


def test_keys_issued_and_revoked_by_staff_or_the_command_are_recorded(practice):
    staff = User.objects.create_superuser(email="support@sessionscribe.test", password="x")
    client = Client()
    client.force_login(staff)

    client.post(reverse("admin:accounts_apikey_add"), {"practice": practice.pk, "name": "Support"})
    call_command("create_api_key", practice.slug, "--name", "Nightly export", stdout=io.StringIO())
    client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke", "_selected_action": [str(pk) for pk in ApiKey.objects.values_list("pk", flat=True)]},
    )

    created = AuditEvent.objects.filter(action=Action.KEY_CREATED).order_by("id")
    assert [(event.actor_user_id, event.actor_label) for event in created] == [
        (staff.pk, staff.email),
        (None, "manage.py create_api_key"),
    ]
    assert AuditEvent.objects.filter(action=Action.KEY_REVOKED, actor_user_id=staff.pk).count() == 2


def test_invitations_and_changes_of_members_are_recorded(alice, practice):
    invitation = invitation_create(
        practice=practice,
        email="dana@alder.test",
        role=Membership.Role.CLINICIAN,
        invited_by=alice,
        site_url="https://scribe.example.org",
    )
    membership = invitation_accept(invitation=invitation, full_name="Dana Dogwood", password="a-long-pass-phrase-9")
    membership_change_role(membership=membership, role=Membership.Role.ADMIN, changed_by=alice)
    membership_remove(membership=membership, removed_by=alice)

    trail = [
        (event.action, event.actor_label, event.object_type, event.detail)
        for event in AuditEvent.objects.filter(practice_id=practice.pk).order_by("id")
    ]
    assert trail == [
        (Action.MEMBER_INVITED, "alice@alder.test", "invitation", "as clinician"),
        (Action.MEMBER_JOINED, "dana@alder.test", "invitation", "as clinician"),
        (Action.ROLE_CHANGED, "alice@alder.test", "user", "clinician → admin"),
        (Action.MEMBER_REMOVED, "alice@alder.test", "user", "was admin"),
    ]
    assert AuditEvent.objects.filter(action=Action.MEMBER_REMOVED, object_id=str(membership.user_id)).exists()


def test_a_refused_change_of_members_records_nothing(alice, practice):
    owner = Membership.objects.get(user=alice)

    with pytest.raises(MembershipChangeRefused):
        membership_change_role(membership=owner, role=Membership.Role.CLINICIAN, changed_by=alice)

    assert not AuditEvent.objects.filter(action=Action.ROLE_CHANGED).exists()


def test_two_factor_changes_are_recorded(alice, practice):
    signals = importlib.import_module("allauth.mfa.signals")

    signals.authenticator_added.send(sender=User, request=None, user=alice, authenticator=SimpleNamespace(type="totp"))

    event = AuditEvent.objects.get(action=Action.MFA_CHANGE)
    assert (event.actor_user_id, event.practice_id, event.detail) == (alice.pk, practice.pk, "totp added")


def test_a_member_of_two_practices_is_audited_in_the_one_the_pages_work_in(alice, practice, other_practice):
    MembershipFactory(user=alice, practice=other_practice, role=Membership.Role.CLINICIAN)
    client = Client()

    client.post(reverse("accounts:login"), {"login": "alice@alder.test", "password": TEST_PASSWORD})

    assert AuditEvent.objects.get(action=Action.LOGIN).practice_id == practice.pk
