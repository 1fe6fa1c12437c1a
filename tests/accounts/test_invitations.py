"""Inviting colleagues, and the rules for changing and removing members."""

from __future__ import annotations

import datetime as dt
import re
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.services import (
    InvitationRefused,
    InvitationUnusable,
    MembershipChangeRefused,
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    membership_change_role,
    membership_remove,
)
from tests.factories import ClinicalSessionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://scribe.example.org"
LINK = re.compile(r"https://scribe\.example\.org/accounts/invitations/accept/([^/\s]+)/")


def _invite(practice, inviter, email="dana@alder.test", role=Membership.Role.CLINICIAN) -> Invitation:
    return invitation_create(practice=practice, email=email, role=role, invited_by=inviter, site_url=SITE)


def _link_token(message_index: int = -1) -> str:
    match = LINK.search(str(mail.outbox[message_index].body))
    assert match, mail.outbox[message_index].body
    return match.group(1)


def _member(practice, role) -> User:
    user = UserFactory()
    MembershipFactory(user=user, practice=practice, role=role)
    return user


# --- sending ----------------------------------------------------------------------------------


def test_an_invitation_mails_a_single_use_link_and_stores_only_its_hash(practice, alice, settings):
    settings.INVITATION_TTL_DAYS = 3
    invitation = _invite(practice, alice, email="  Dana@Alder.TEST ")
    assert invitation.email == "dana@alder.test"
    [message] = mail.outbox
    assert message.to == ["dana@alder.test"]
    assert "Alice Alder invited you to Alder Clinic" in message.subject
    token = _link_token()
    assert token not in invitation.token_hash
    assert Invitation.from_link_token(token) == invitation
    assert abs(invitation.expires_at - (timezone.now() + dt.timedelta(days=3))) < dt.timedelta(minutes=1)
    assert invitation.status == Invitation.Status.PENDING


def test_a_forged_or_altered_link_finds_nothing(practice, alice):
    _invite(practice, alice)
    token = _link_token()
    assert Invitation.from_link_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert Invitation.from_link_token("not-a-token") is None


def test_only_owners_invite_owners(practice, alice):
    admin = _member(practice, Membership.Role.ADMIN)
    with pytest.raises(PermissionDenied):
        _invite(practice, admin, role=Membership.Role.OWNER)
    assert _invite(practice, admin, role=Membership.Role.ADMIN).role == Membership.Role.ADMIN
    assert _invite(practice, alice, email="owner2@alder.test", role=Membership.Role.OWNER).role == "owner"


def test_clinicians_and_outsiders_cannot_invite(practice, bob, charlie):
    for user in (bob, charlie):
        with pytest.raises(PermissionDenied):
            _invite(practice, user)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(("email", "code"), [("not an email", "invalid_email"), ("bob@alder.test", "already_member")])
def test_bad_addresses_and_members_are_refused(practice, alice, bob, email, code):
    with pytest.raises(InvitationRefused) as refused:
        _invite(practice, alice, email=email)
    assert refused.value.code == code
    assert not mail.outbox


def test_a_pending_invitation_is_resent_not_doubled(practice, alice):
    _invite(practice, alice)
    with pytest.raises(InvitationRefused) as refused:
        _invite(practice, alice)
    assert refused.value.code == "already_invited"


def test_an_expired_invitation_gives_way_to_a_new_one(practice, alice):
    old = _invite(practice, alice)
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    new = _invite(practice, alice)
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert new.status == Invitation.Status.PENDING


def test_the_seat_check_is_asked_before_sending(practice, alice, monkeypatch):
    monkeypatch.setattr("accounts.services.seats_available", lambda practice: False)
    with pytest.raises(InvitationRefused) as refused:
        _invite(practice, alice)
    assert refused.value.code == "seats_exhausted"
    assert not mail.outbox


def test_a_practice_sends_a_limited_number_of_invitations_an_hour(practice, alice, settings):
    settings.INVITATION_SENDS_PER_HOUR = 2
    _invite(practice, alice, email="one@alder.test")
    invitation = _invite(practice, alice, email="two@alder.test")
    with pytest.raises(InvitationRefused) as refused:
        _invite(practice, alice, email="three@alder.test")
    assert refused.value.code == "rate_limited"
    with pytest.raises(InvitationRefused):
        invitation_resend(invitation=invitation, sent_by=alice, site_url=SITE)
    assert len(mail.outbox) == 2


def test_nothing_is_kept_when_the_mail_cannot_be_sent(practice, alice, monkeypatch):
    def refuse(*args, **kwargs):
        raise SMTPException("mail server down")

    monkeypatch.setattr("accounts.services.send_mail", refuse)
    with pytest.raises(SMTPException):
        _invite(practice, alice)
    assert not Invitation.objects.exists()


def test_resending_replaces_the_link_and_the_expiry(practice, alice):
    invitation = _invite(practice, alice)
    first = _link_token()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    invitation.refresh_from_db()
    invitation_resend(invitation=invitation, sent_by=alice, site_url=SITE)
    second = _link_token()
    assert Invitation.from_link_token(first) is None
    assert Invitation.from_link_token(second) == invitation
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.send_count == 2


def test_a_revoked_invitation_cannot_be_resent_or_used(practice, alice):
    invitation = _invite(practice, alice)
    assert invitation_revoke(invitation=invitation, revoked_by=alice) is True
    assert invitation_revoke(invitation=invitation, revoked_by=alice) is False
    with pytest.raises(InvitationRefused):
        invitation_resend(invitation=invitation, sent_by=alice, site_url=SITE)
    with pytest.raises(InvitationUnusable) as unusable:
        invitation_accept(invitation=invitation, full_name="Dana", password="a-long-passphrase-42")
    assert unusable.value.status == Invitation.Status.REVOKED


def test_an_admin_cannot_resend_or_revoke_an_owners_invitation(practice, alice):
    invitation = _invite(practice, alice, role=Membership.Role.OWNER)
    admin = _member(practice, Membership.Role.ADMIN)
    with pytest.raises(PermissionDenied):
        invitation_revoke(invitation=invitation, revoked_by=admin)
    with pytest.raises(PermissionDenied):
        invitation_resend(invitation=invitation, sent_by=admin, site_url=SITE)


# --- accepting --------------------------------------------------------------------------------


def test_a_new_colleague_gets_an_account_and_the_invited_role(practice, alice):
    invitation = _invite(practice, alice, role=Membership.Role.ADMIN)
    membership = invitation_accept(invitation=invitation, full_name="Dana Dogwood", password="a-long-passphrase-42")
    user = membership.user
    assert (user.email, user.full_name, membership.role) == ("dana@alder.test", "Dana Dogwood", "admin")
    assert user.check_password("a-long-passphrase-42")
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_by) == (Invitation.Status.ACCEPTED, user)


def test_the_link_works_once(practice, alice):
    invitation = _invite(practice, alice)
    invitation_accept(invitation=invitation, full_name="Dana", password="a-long-passphrase-42")
    again = Invitation.objects.get(pk=invitation.pk)
    with pytest.raises(InvitationUnusable) as unusable:
        invitation_accept(invitation=again, full_name="Mallory", password="a-long-passphrase-42")
    assert unusable.value.status == Invitation.Status.ACCEPTED
    assert User.objects.filter(email="dana@alder.test").count() == 1


def test_a_stale_copy_of_a_used_invitation_is_refused_too(practice, alice):
    invitation = _invite(practice, alice)
    stale = Invitation.objects.get(pk=invitation.pk)
    invitation_accept(invitation=invitation, full_name="Dana", password="a-long-passphrase-42")
    with pytest.raises(InvitationUnusable):
        invitation_accept(invitation=stale, full_name="Mallory", password="a-long-passphrase-42")


def test_an_expired_invitation_is_refused(practice, alice):
    invitation = _invite(practice, alice)
    invitation.expires_at = timezone.now() - dt.timedelta(seconds=1)
    invitation.save()
    with pytest.raises(InvitationUnusable) as unusable:
        invitation_accept(invitation=invitation, full_name="Dana", password="a-long-passphrase-42")
    assert unusable.value.status == Invitation.Status.EXPIRED


def test_someone_with_an_account_accepts_as_themselves(practice, alice, charlie):
    invitation = _invite(practice, alice, email="charlie@cedar.test")
    membership = invitation_accept(invitation=invitation, user=charlie)
    assert (membership.user, membership.practice, membership.role) == (charlie, practice, "clinician")
    assert charlie.memberships.count() == 2


def test_an_invitation_is_accepted_only_by_its_address(practice, alice, charlie):
    invitation = _invite(practice, alice)
    with pytest.raises(PermissionDenied):
        invitation_accept(invitation=invitation, user=charlie)
    assert Invitation.objects.get().accepted_at is None


def test_an_existing_address_must_sign_in_rather_than_make_a_second_account(practice, alice, charlie):
    invitation = _invite(practice, alice, email="charlie@cedar.test")
    with pytest.raises(PermissionDenied):
        invitation_accept(invitation=invitation, full_name="Charlie", password="a-long-passphrase-42")


# --- roles and removal ------------------------------------------------------------------------


def test_an_owner_makes_another_member_an_owner_then_may_step_down(practice, alice, bob):
    bob_membership = Membership.objects.get(user=bob)
    alice_membership = Membership.objects.get(user=alice)
    membership_change_role(membership=bob_membership, role=Membership.Role.OWNER, changed_by=alice)
    membership_change_role(membership=alice_membership, role=Membership.Role.ADMIN, changed_by=alice)
    assert Membership.objects.get(user=alice).role == "admin"


def test_the_last_owner_cannot_be_demoted(practice, alice):
    with pytest.raises(MembershipChangeRefused, match="needs an owner"):
        membership_change_role(
            membership=Membership.objects.get(user=alice), role=Membership.Role.CLINICIAN, changed_by=alice
        )
    assert Membership.objects.get(user=alice).role == "owner"


def test_admins_neither_make_nor_change_owners(practice, alice, bob):
    admin = _member(practice, Membership.Role.ADMIN)
    with pytest.raises(PermissionDenied):
        membership_change_role(membership=Membership.objects.get(user=bob), role="owner", changed_by=admin)
    with pytest.raises(PermissionDenied):
        membership_change_role(membership=Membership.objects.get(user=alice), role="clinician", changed_by=admin)
    membership_change_role(membership=Membership.objects.get(user=bob), role="admin", changed_by=admin)
    assert Membership.objects.get(user=bob).role == "admin"


def test_an_unknown_role_is_refused(practice, alice, bob):
    with pytest.raises(MembershipChangeRefused):
        membership_change_role(membership=Membership.objects.get(user=bob), role="king", changed_by=alice)


def test_clinicians_cannot_change_roles_or_remove_members(practice, alice, bob):
    with pytest.raises(PermissionDenied):
        membership_change_role(membership=Membership.objects.get(user=alice), role="clinician", changed_by=bob)
    with pytest.raises(PermissionDenied):
        membership_remove(membership=Membership.objects.get(user=alice), removed_by=bob)


def test_a_removed_members_sessions_stay_with_the_practice(practice, alice, bob):
    session = ClinicalSessionFactory(practice=practice, clinician=bob)
    membership_remove(membership=Membership.objects.get(user=bob), removed_by=alice)
    assert not Membership.objects.filter(user=bob).exists()
    session.refresh_from_db()
    assert session.practice == practice


def test_the_last_owner_can_neither_be_removed_nor_leave(practice, alice):
    with pytest.raises(MembershipChangeRefused, match="last owner"):
        membership_remove(membership=Membership.objects.get(user=alice), removed_by=alice)


def test_an_owner_may_leave_when_another_owner_remains(practice, alice):
    _member(practice, Membership.Role.OWNER)
    membership_remove(membership=Membership.objects.get(user=alice), removed_by=alice)
    assert not Membership.objects.filter(user=alice).exists()


def test_an_admin_cannot_remove_an_owner(practice, alice):
    _member(practice, Membership.Role.OWNER)
    admin = _member(practice, Membership.Role.ADMIN)
    with pytest.raises(PermissionDenied):
        membership_remove(membership=Membership.objects.get(user=alice), removed_by=admin)
