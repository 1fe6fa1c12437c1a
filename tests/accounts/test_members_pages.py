"""The members page of owners and admins, and the invitation link a colleague opens."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.services import invitation_create
from tests.factories import TEST_PASSWORD, ClinicalSessionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MEMBERS = reverse("accounts:members")
NEW_PASSWORD = "quiet-harbour-lantern-42"


def _invite(practice, inviter, email="dana@alder.test", role=Membership.Role.CLINICIAN) -> tuple[Invitation, str]:
    invitation = invitation_create(
        practice=practice, email=email, role=role, invited_by=inviter, site_url="http://testserver"
    )
    return invitation, _accept_path()


def _accept_path(message_index: int = -1) -> str:
    match = re.search(r"http://testserver(/accounts/invitations/accept/[^/\s]+/)", str(mail.outbox[message_index].body))
    assert match
    return match.group(1)


def _client_of(practice, role) -> tuple[Client, User]:
    user = UserFactory()
    MembershipFactory(user=user, practice=practice, role=role)
    client = Client()
    client.force_login(user)
    return client, user


# --- the members page -------------------------------------------------------------------------


def test_the_members_page_needs_login(client):
    response = client.get(MEMBERS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_members_page_lists_members_and_open_invitations(alice_client, alice, bob, charlie, practice):
    _invite(practice, alice)
    page = alice_client.get(MEMBERS).content.decode()
    assert "bob@alder.test" in page
    assert "dana@alder.test" in page
    assert "charlie@cedar.test" not in page


def test_clinicians_may_not_open_the_members_page(bob_client):
    assert bob_client.get(MEMBERS).status_code == 403
    assert bob_client.post(MEMBERS, {"email": "x@alder.test", "role": "clinician"}).status_code == 403
    assert not Invitation.objects.exists()


def test_the_menu_links_owners_and_admins_to_the_members_page(alice_client, bob_client):
    assert f'href="{MEMBERS}"' in alice_client.get(reverse("clinical_sessions:list")).content.decode()
    assert f'href="{MEMBERS}"' not in bob_client.get(reverse("clinical_sessions:list")).content.decode()


def test_the_members_page_takes_the_same_queries_for_many_members(
    alice_client, alice, practice, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20) as few:
        alice_client.get(MEMBERS)
    for n in range(10):
        MembershipFactory(practice=practice)
        _invite(practice, alice, email=f"colleague{n}@alder.test")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert alice_client.get(MEMBERS).status_code == 200


def test_an_owner_invites_a_colleague_by_email(alice_client, practice):
    response = alice_client.post(MEMBERS, {"email": "Dana@Alder.test", "role": "admin"})
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.practice) == ("dana@alder.test", "admin", practice)
    assert _accept_path().startswith("/accounts/invitations/accept/")


def test_an_admin_is_not_offered_the_owner_role_and_cannot_send_it(practice):
    client, _ = _client_of(practice, Membership.Role.ADMIN)
    assert 'value="owner"' not in client.get(MEMBERS).content.decode()
    assert client.post(MEMBERS, {"email": "d@alder.test", "role": "owner"}).status_code == 400
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "role": "clinician"}, "valid email"),
        ({"email": "bob@alder.test", "role": "clinician"}, "already a member"),
        ({"email": "d@alder.test", "role": "emperor"}, "valid choice"),
    ],
)
def test_a_refused_invitation_is_explained_on_the_page(alice_client, bob, data, message):
    response = alice_client.post(MEMBERS, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not mail.outbox


def test_too_many_invitations_in_an_hour_are_refused_with_429(alice_client, settings):
    settings.INVITATION_SENDS_PER_HOUR = 1
    assert alice_client.post(MEMBERS, {"email": "one@alder.test", "role": "clinician"}).status_code == 302
    response = alice_client.post(MEMBERS, {"email": "two@alder.test", "role": "clinician"})
    assert response.status_code == 429
    assert "last hour" in response.content.decode()


def test_an_owner_resends_and_revokes_an_invitation(alice_client, alice, practice):
    invitation, first = _invite(practice, alice)
    assert alice_client.post(reverse("accounts:invitation_resend", kwargs={"pk": invitation.pk})).status_code == 302
    assert _accept_path() != first
    assert Client().get(first).status_code == 404
    assert alice_client.post(reverse("accounts:invitation_revoke", kwargs={"pk": invitation.pk})).status_code == 302
    assert Client().get(_accept_path()).status_code == 410


def test_an_owner_changes_a_role(alice_client, bob):
    membership = Membership.objects.get(user=bob)
    response = alice_client.post(reverse("accounts:member_role", kwargs={"pk": membership.pk}), {"role": "admin"})
    assert response.status_code == 302
    assert Membership.objects.get(user=bob).role == "admin"


def test_demoting_the_last_owner_is_refused_on_the_page(alice_client, alice):
    membership = Membership.objects.get(user=alice)
    response = alice_client.post(reverse("accounts:member_role", kwargs={"pk": membership.pk}), {"role": "clinician"})
    assert response.status_code == 400
    assert "needs an owner" in response.content.decode()


def test_an_owner_removes_a_member(alice_client, bob):
    membership = Membership.objects.get(user=bob)
    assert alice_client.post(reverse("accounts:member_remove", kwargs={"pk": membership.pk})).status_code == 302
    assert not Membership.objects.filter(user=bob).exists()


def test_the_last_owner_cannot_leave(alice_client, alice):
    membership = Membership.objects.get(user=alice)
    response = alice_client.post(reverse("accounts:member_remove", kwargs={"pk": membership.pk}))
    assert response.status_code == 400
    assert Membership.objects.filter(user=alice).exists()


def test_an_admin_cannot_remove_an_owner_from_the_page(practice, alice):
    client, _ = _client_of(practice, Membership.Role.ADMIN)
    membership = Membership.objects.get(user=alice)
    assert client.post(reverse("accounts:member_remove", kwargs={"pk": membership.pk})).status_code == 403
    assert Membership.objects.filter(user=alice).exists()


# --- the trio ---------------------------------------------------------------------------------


def _routes(practice, alice, bob):
    invitation, _ = _invite(practice, alice)
    membership = Membership.objects.get(user=bob)
    return [
        reverse("accounts:member_role", kwargs={"pk": membership.pk}),
        reverse("accounts:member_remove", kwargs={"pk": membership.pk}),
        reverse("accounts:invitation_resend", kwargs={"pk": invitation.pk}),
        reverse("accounts:invitation_revoke", kwargs={"pk": invitation.pk}),
    ]


def test_member_actions_need_login(client, practice, alice, bob):
    for url in _routes(practice, alice, bob):
        response = client.post(url, {"role": "admin"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_another_practices_members_and_invitations_are_404(charlie_client, practice, alice, bob):
    for url in _routes(practice, alice, bob):
        assert charlie_client.post(url, {"role": "admin"}).status_code == 404
    assert Membership.objects.get(user=bob).role == "clinician"
    assert Invitation.objects.get().revoked_at is None


def test_clinicians_get_403_on_member_actions(bob_client, practice, alice, bob):
    for url in _routes(practice, alice, bob):
        assert bob_client.post(url, {"role": "admin"}).status_code == 403


def test_member_actions_refuse_the_wrong_method(alice_client, practice, alice, bob):
    for url in _routes(practice, alice, bob):
        assert alice_client.get(url).status_code == 405
    assert alice_client.put(MEMBERS).status_code == 405


# --- opening the link -------------------------------------------------------------------------


def test_a_new_colleague_sets_a_name_and_password_and_lands_in_the_practice(client, practice, alice):
    ClinicalSessionFactory(practice=practice, clinician=alice, client_label="AA-017")
    _, path = _invite(practice, alice, role=Membership.Role.ADMIN)
    page = client.get(path)
    assert page.status_code == 200
    assert "Join Alder Clinic" in page.content.decode()
    response = client.post(
        path, {"full_name": "Dana Dogwood", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("clinical_sessions:list")
    page = response.content.decode()
    assert "Welcome to Alder Clinic" in page
    assert "AA-017" in page
    dana = User.objects.get(email="dana@alder.test")
    assert dana.full_name == "Dana Dogwood"
    assert Membership.objects.get(user=dana).role == "admin"
    assert client.get(path).status_code == 410


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        ("short", "short", "too short"),
        ("password123", "password123", "too common"),
        ("1234567890123", "1234567890123", "entirely numeric"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "differ"),
        ("dana@alder.test", "dana@alder.test", "too similar"),
    ],
)
def test_the_password_validators_apply(client, practice, alice, password1, password2, message):
    _, path = _invite(practice, alice)
    response = client.post(path, {"full_name": "Dana", "password1": password1, "password2": password2})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(email="dana@alder.test").exists()
    assert Invitation.objects.get().accepted_at is None


def test_someone_with_an_account_logs_in_then_accepts(client, practice, alice, charlie):
    _, path = _invite(practice, alice, email="charlie@cedar.test")
    page = client.get(path).content.decode()
    assert "Log in to accept" in page
    login = client.post(
        reverse("accounts:login") + f"?next={path}",
        {"login": "charlie@cedar.test", "password": TEST_PASSWORD, "next": path},
    )
    assert login["Location"] == path
    assert "Accept and join" in client.get(path).content.decode()
    joined = client.post(path, follow=True).content.decode()
    assert "Welcome to Alder Clinic" in joined
    assert "still show Cedar Practice" in joined
    assert Membership.objects.filter(user=charlie, practice=practice).exists()


def test_a_signed_in_user_with_another_address_is_told_to_log_out(charlie_client, practice, alice):
    _, path = _invite(practice, alice)
    response = charlie_client.get(path)
    assert response.status_code == 403
    assert "Log out, then open the link again" in response.content.decode()
    assert charlie_client.post(path).status_code == 403
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_made_up_link_is_a_clear_404(client, method):
    response = getattr(client, method)(reverse("accounts:invitation_accept", kwargs={"token": "made.up"}))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_an_expired_link_is_a_clear_410(client, practice, alice):
    invitation, path = _invite(practice, alice)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_the_invitation_link_refuses_other_methods(client, practice, alice):
    _, path = _invite(practice, alice)
    assert client.put(path).status_code == 405


def test_someone_without_a_practice_is_told_to_ask_for_an_invitation(client):
    client.force_login(UserFactory())
    response = client.get(reverse("clinical_sessions:create"), follow=True)
    assert "invite you" in response.content.decode()


def test_the_only_owner_is_offered_no_way_to_leave_or_step_down(alice_client, alice, practice):
    own = Membership.objects.get(user=alice)
    page = alice_client.get(MEMBERS).content.decode()
    assert "(the only owner)" in page
    assert reverse("accounts:member_remove", kwargs={"pk": own.pk}) not in page
    MembershipFactory(practice=practice, role=Membership.Role.OWNER)
    assert reverse("accounts:member_remove", kwargs={"pk": own.pk}) in alice_client.get(MEMBERS).content.decode()
