"""Writes with side effects for practices and their members."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import entitlements
from accounts.audit import audit_record
from accounts.entitlements import practice_created
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, Practice, User
from accounts.rate_limits import rate_counter_hit

Action = AuditEvent.Action
ObjectType = AuditEvent.ObjectType


@transaction.atomic
def practice_create(*, name: str, owner_email: str, owner_password: str | None = None) -> Practice:
    """Create a practice owned by the user with that email, creating the user if needed.

    Without a password a new user gets an unusable one and sets theirs through password reset.
    """
    practice = Practice.objects.create(name=name.strip(), slug=Practice.unique_slug_for(name))
    email = owner_email.strip().lower()
    owner = User.objects.filter(email=email).first()
    if owner is None:
        owner = User.objects.create_user(email=email, password=owner_password)
    elif owner_password:
        owner.set_password(owner_password)
        owner.save(update_fields=["password"])
    Membership.objects.create(user=owner, practice=practice, role=Membership.Role.OWNER)
    practice_created(practice)  # its trial starts now (billing)
    return practice


# --- API keys ------------------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, practice: Practice, name: str, created_by: User | None) -> tuple[ApiKey, str]:
    """Issue a key for the practice; returns it with the raw secret, shown once. ``created_by`` is None when an
    operator issues it from the command line."""
    key, raw_key = ApiKey.issue(practice=practice, name=name, created_by=created_by)
    audit_record(
        action=Action.KEY_CREATED,
        actor=created_by,
        actor_label="" if created_by is not None else "manage.py create_api_key",
        practice_id=practice.pk,
        object_type=ObjectType.API_KEY,
        object_id=key.pk,
    )
    return key, raw_key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, revoked_by: User | None) -> bool:
    """Revoke the key; False when it already was. Requests with it are refused from now on."""
    revoked = key.revoke()
    if revoked:
        audit_record(
            action=Action.KEY_REVOKED,
            actor=revoked_by,
            practice_id=key.practice_id,
            object_type=ObjectType.API_KEY,
            object_id=key.pk,
        )
    return revoked


# --- Colleagues: invitations and memberships -------------------------------------------------------


class InvitationRefused(Exception):
    """An invitation cannot be sent (or resent); ``code`` names why, the message says it to the inviter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvitationUnusable(Exception):
    """The invitation's link no longer works: ``status`` is accepted, revoked or expired."""

    def __init__(self, status: str) -> None:
        super().__init__(f"The invitation is {status}.")
        self.status = status


class MembershipChangeRefused(Exception):
    """A change of members that would leave the practice without an owner, or is otherwise not allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def seats_available(practice: Practice) -> bool:
    """Whether the practice's plan has room for one more member, its open invitations counted. Billing answers
    (``accounts.entitlements``); without billing every practice has room. Asked before an invitation is sent."""
    return entitlements.seats_available(practice)


def _membership_of(user: User, practice: Practice) -> Membership:
    membership = Membership.objects.filter(user=user, practice=practice).first()
    if membership is None or not membership.sees_whole_practice:
        raise PermissionDenied("Only the practice's owners and admins manage its members.")
    return membership


def _may_grant(actor: Membership, role: str) -> None:
    if role == Membership.Role.OWNER and actor.role != Membership.Role.OWNER:
        raise PermissionDenied("Only an owner can make someone an owner.")


def _count_send(practice: Practice) -> None:
    count, _ = rate_counter_hit(scope="invitations", identity=f"practice:{practice.pk}", window_seconds=3600)
    if count > settings.INVITATION_SENDS_PER_HOUR:
        raise InvitationRefused(
            "rate_limited",
            f"This practice sent {settings.INVITATION_SENDS_PER_HOUR} invitations in the last hour; try again later.",
        )


def _send_invitation_email(invitation: Invitation, link_token: str, *, site_url: str) -> None:
    path = reverse("accounts:invitation_accept", kwargs={"token": link_token})
    context = {
        "invitation": invitation,
        "practice": invitation.practice,
        "inviter": invitation.invited_by.display_name if invitation.invited_by else "A colleague",
        "role": invitation.get_role_display().lower(),
        "url": f"{site_url.rstrip('/')}{path}",
        "expires_at": invitation.expires_at,
    }
    subject = " ".join(render_to_string("accounts/email/invitation_subject.txt", context).split())
    body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email], fail_silently=False)


def _normalised_email(email: str) -> str:
    address = str(email).strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise InvitationRefused("invalid_email", "Enter a valid email address.") from None
    return address


@transaction.atomic
def invitation_create(*, practice: Practice, email: str, role: str, invited_by: User, site_url: str) -> Invitation:
    """Invite ``email`` to the practice with ``role`` and send the link. ``site_url`` is the address the link
    starts with (``https://scribe.example.org``). Only owners invite owners. Nothing is kept if the mail
    cannot be sent."""
    actor = _membership_of(invited_by, practice)
    if role not in Membership.Role.values:
        raise InvitationRefused("invalid_role", "Choose a role: owner, admin or clinician.")
    _may_grant(actor, role)
    address = _normalised_email(email)
    if Membership.objects.filter(practice=practice, user__email=address).exists():
        raise InvitationRefused("already_member", f"{address} is already a member of the practice.")
    previous = Invitation.objects.select_for_update().open().filter(practice=practice, email=address).first()
    if previous is not None and previous.status == Invitation.Status.PENDING:
        raise InvitationRefused(
            "already_invited", f"{address} has a pending invitation; resend it from the list if it got lost."
        )
    if not seats_available(practice):
        raise InvitationRefused("seats_exhausted", "The practice's plan has no seat left for another member.")
    _count_send(practice)
    if previous is not None:
        # An expired invitation to the same address gives way to the new one.
        Invitation.objects.filter(pk=previous.pk).update(revoked_at=timezone.now())
    link_token, token_hash = Invitation.new_token()
    now = timezone.now()
    invitation = Invitation.objects.create(
        practice=practice,
        email=address,
        role=role,
        token_hash=token_hash,
        invited_by=invited_by,
        sent_at=now,
        expires_at=now + dt.timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    _send_invitation_email(invitation, link_token, site_url=site_url)
    audit_record(
        action=Action.MEMBER_INVITED,
        actor=invited_by,
        practice_id=practice.pk,
        object_type=ObjectType.INVITATION,
        object_id=invitation.pk,
        detail=f"as {role}",
    )
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, sent_by: User, site_url: str) -> Invitation:
    """Send the invitation again with a new link (the old one stops working) and a new expiry."""
    actor = _membership_of(sent_by, invitation.practice)
    _may_grant(actor, invitation.role)
    if invitation.status not in {Invitation.Status.PENDING, Invitation.Status.EXPIRED}:
        raise InvitationRefused("not_open", f"This invitation was {invitation.get_status_display().lower()}.")
    if not seats_available(invitation.practice):
        raise InvitationRefused("seats_exhausted", "The practice's plan has no seat left for another member.")
    _count_send(invitation.practice)
    link_token, token_hash = Invitation.new_token()
    now = timezone.now()
    invitation.token_hash = token_hash
    invitation.sent_at = now
    invitation.expires_at = now + dt.timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "send_count"])
    _send_invitation_email(invitation, link_token, site_url=site_url)
    return invitation


def invitation_revoke(*, invitation: Invitation, revoked_by: User) -> bool:
    """Stop the invitation's link from working; False when it was already accepted or revoked."""
    actor = _membership_of(revoked_by, invitation.practice)
    _may_grant(actor, invitation.role)
    now = timezone.now()
    changed = Invitation.objects.open().filter(pk=invitation.pk).update(revoked_at=now)
    if changed:
        invitation.revoked_at = now
    return bool(changed)


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User | None = None, full_name: str = "", password: str = ""
) -> Membership:
    """Join the practice through the invitation: as ``user`` (signed in with the invited address), or as a new
    user with that address, ``full_name`` and ``password`` (checked by the caller against the validators).

    The link works once: of two acceptances at the same moment, one wins and the other is refused.
    """
    now = timezone.now()
    # Claimed first: a refusal below rolls the claim back with the rest of the transaction.
    claimed = (
        Invitation.objects.open()
        .filter(pk=invitation.pk, token_hash=invitation.token_hash, expires_at__gt=now)
        .update(accepted_at=now)
    )
    if not claimed:
        invitation.refresh_from_db()
        raise InvitationUnusable(invitation.status)
    if user is not None and user.email.lower() != invitation.email:
        raise PermissionDenied("This invitation was sent to another email address.")
    if user is None and User.objects.filter(email=invitation.email).exists():
        raise PermissionDenied("An account with this email address exists; sign in to accept.")
    if user is None:
        user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name.strip())
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    invitation.accepted_at, invitation.accepted_by = now, user
    membership, created = Membership.objects.get_or_create(
        user=user, practice=invitation.practice, defaults={"role": invitation.role}
    )
    if created:
        audit_record(
            action=Action.MEMBER_JOINED,
            actor=user,
            practice_id=invitation.practice_id,
            object_type=ObjectType.INVITATION,
            object_id=invitation.pk,
            detail=f"as {membership.role}",
        )
    return membership


def _owner_ids(practice: Practice) -> list[Any]:
    # Locked, so that two owners demoting or removing each other at once cannot leave the practice without one.
    return list(
        Membership.objects.select_for_update()
        .filter(practice=practice, role=Membership.Role.OWNER)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, changed_by: User) -> Membership:
    """Give a member another role. Only owners make or unmake owners; the last owner stays an owner."""
    actor = _membership_of(changed_by, membership.practice)
    if role not in Membership.Role.values:
        raise MembershipChangeRefused("Choose a role: owner, admin or clinician.")
    _may_grant(actor, role)
    _may_grant(actor, membership.role)
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.OWNER and _owner_ids(membership.practice) == [membership.pk]:
        raise MembershipChangeRefused("The practice needs an owner: make someone else an owner first.")
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action=Action.ROLE_CHANGED,
        actor=changed_by,
        practice_id=membership.practice_id,
        object_type=ObjectType.USER,
        object_id=membership.user_id,
        detail=f"{previous} → {role}",
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, removed_by: User) -> None:
    """Take a member out of the practice (their sessions and notes stay with the practice). Never the last
    owner, whoever asks, themselves included."""
    actor = _membership_of(removed_by, membership.practice)
    _may_grant(actor, membership.role)
    if membership.role == Membership.Role.OWNER and _owner_ids(membership.practice) == [membership.pk]:
        raise MembershipChangeRefused("The practice needs an owner: the last owner cannot be removed.")
    audit_record(
        action=Action.MEMBER_REMOVED,
        actor=removed_by,
        practice_id=membership.practice_id,
        object_type=ObjectType.USER,
        object_id=membership.user_id,
        detail=f"was {membership.role}",
    )
    membership.delete()
