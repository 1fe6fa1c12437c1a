"""Practice settings pages for owners and admins: the practice's API keys, its members and their invitations;
and the invitation link a new colleague opens."""

from __future__ import annotations

import logging
import zoneinfo
from smtplib import SMTPException
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.entitlements import Feature, feature_refusal
from accounts.forms import InvitationAcceptForm, InvitationForm
from accounts.models import ApiKey, Invitation, Membership, Practice, User
from accounts.reauthentication import recent_login_required
from accounts.services import (
    InvitationRefused,
    InvitationUnusable,
    MembershipChangeRefused,
    api_key_create,
    api_key_revoke,
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    membership_change_role,
    membership_remove,
)
from accounts.tenancy import current_membership, signed_in_user
from config.validators import single_line_text

logger = logging.getLogger(__name__)

# Django's own password pages, under their accounts: names and, for allauth's links, under its names too.
password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html", success_url=reverse_lazy("accounts:password_change_done")
)
password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset.html",
    email_template_name="accounts/email/password_reset.txt",
    subject_template_name="accounts/email/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What the key is for, e.g. “EHR sync”. Shown in the list.",
        validators=[single_line_text],
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name


def practice_admin_membership(request: HttpRequest) -> Membership:
    """The membership of a practice owner or admin, whose practice the settings pages manage; 403 otherwise."""
    membership = current_membership(request.user)
    if membership is None or not membership.sees_whole_practice:
        raise PermissionDenied("Only the practice's owners and admins manage its settings.")
    return membership


@never_cache
@require_http_methods(["GET", "POST"])
@recent_login_required(minutes=10)
def api_keys(request: HttpRequest) -> HttpResponse:
    membership = practice_admin_membership(request)
    form = ApiKeyForm(request.POST or None)
    context: dict[str, Any] = {"practice": membership.practice}
    status = 200
    if request.method == "POST":
        # The plan's refusal (billing) leaves the form as it was; the page says why and where plans are changed.
        context["plan_refusal"] = feature_refusal(membership.practice, Feature.API_ACCESS)
        if context["plan_refusal"]:
            status = 402
        elif form.is_valid():
            key, raw_key = api_key_create(
                practice=membership.practice, name=form.cleaned_data["name"], created_by=signed_in_user(request)
            )
            # Shown in this answer only: never stored, never put in a redirect or the session.
            context.update(new_key=key, raw_key=raw_key)
            form = ApiKeyForm()
        else:
            status = 400
    keys = ApiKey.objects.visible_to(request.user).filter(practice=membership.practice).select_related("created_by")
    context.update(form=form, keys=keys)
    return render(request, "accounts/api_keys.html", context, status=status)


@require_http_methods(["POST"])
@recent_login_required(minutes=10)
def api_key_revoke_view(request: HttpRequest, pk: Any) -> HttpResponse:
    practice_admin_membership(request)
    key = get_object_or_404(ApiKey.objects.visible_to(request.user), pk=pk)
    if api_key_revoke(key=key, revoked_by=signed_in_user(request)):
        messages.success(request, f"The key “{key.name}” was revoked; requests with it are refused from now on.")
    else:
        messages.info(request, f"The key “{key.name}” was already revoked.")
    return redirect("accounts:api_keys")


# --- Colleagues: members and invitations -----------------------------------------------------------


def _role_choices(actor: Membership) -> list[tuple[str, str]]:
    """The roles this member may give: an owner any, an admin all but owner."""
    if actor.role == Membership.Role.OWNER:
        return list(Membership.Role.choices)
    return [(value, label) for value, label in Membership.Role.choices if value != Membership.Role.OWNER]


def _site_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _render_members(
    request: HttpRequest,
    actor: Membership,
    *,
    form: InvitationForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    practice = actor.practice
    memberships = list(Membership.objects.filter(practice=practice).select_related("user").order_by("created_at"))
    owners = [m.pk for m in memberships if m.role == Membership.Role.OWNER]
    invitations = Invitation.objects.open().filter(practice=practice).select_related("invited_by")
    context = {
        "practice": practice,
        "actor": actor,
        "members": memberships,
        # The only owner's role and membership cannot change, so the page offers no way to try.
        "sole_owner_pk": owners[0] if len(owners) == 1 else None,
        "invitations": invitations,
        "form": form or InvitationForm(roles=_role_choices(actor)),
        "role_choices": _role_choices(actor),
        "error": error,
        "ttl_days": settings.INVITATION_TTL_DAYS,
    }
    return render(request, "accounts/members.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@recent_login_required(minutes=10)
def members(request: HttpRequest) -> HttpResponse:
    """The practice's members and open invitations; the form invites a colleague by email."""
    actor = practice_admin_membership(request)
    if request.method == "GET":
        return _render_members(request, actor)
    form = InvitationForm(request.POST, roles=_role_choices(actor))
    if not form.is_valid():
        return _render_members(request, actor, form=form, status=400)
    try:
        invitation = invitation_create(
            practice=actor.practice,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=signed_in_user(request),
            site_url=_site_url(request),
        )
    except InvitationRefused as refused:
        form.add_error("email" if refused.code in {"already_member", "already_invited"} else None, refused.message)
        return _render_members(request, actor, form=form, status=429 if refused.code == "rate_limited" else 400)
    except (SMTPException, OSError):
        logger.exception("invitation mail could not be sent")
        form.add_error(None, "The invitation email could not be sent; nothing was saved. Try again later.")
        return _render_members(request, actor, form=form, status=503)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("accounts:members")


def _member_for(request: HttpRequest, pk: Any) -> tuple[Membership, Membership]:
    actor = practice_admin_membership(request)
    return actor, get_object_or_404(Membership.objects.visible_to(request.user).select_related("user"), pk=pk)


@require_http_methods(["POST"])
@recent_login_required(minutes=10)
def member_role(request: HttpRequest, pk: Any) -> HttpResponse:
    actor, member = _member_for(request, pk)
    role = str(request.POST.get("role", ""))
    try:
        membership_change_role(membership=member, role=role, changed_by=signed_in_user(request))
    except MembershipChangeRefused as refused:
        return _render_members(request, actor, error=refused.message, status=400)
    messages.success(request, f"{member.user.display_name} is now {member.get_role_display().lower()}.")
    if member.pk == actor.pk and not member.sees_whole_practice:
        return redirect("clinical_sessions:list")
    return redirect("accounts:members")


@require_http_methods(["POST"])
@recent_login_required(minutes=10)
def member_remove(request: HttpRequest, pk: Any) -> HttpResponse:
    actor, member = _member_for(request, pk)
    try:
        membership_remove(membership=member, removed_by=signed_in_user(request))
    except MembershipChangeRefused as refused:
        return _render_members(request, actor, error=refused.message, status=400)
    if member.pk == actor.pk:
        messages.success(request, f"You left {actor.practice.name}.")
        return redirect("clinical_sessions:list")
    messages.success(request, f"{member.user.display_name} was removed from the practice; their sessions stay.")
    return redirect("accounts:members")


def _invitation_for(request: HttpRequest, pk: Any) -> tuple[Membership, Invitation]:
    actor = practice_admin_membership(request)
    return actor, get_object_or_404(Invitation.objects.visible_to(request.user).select_related("practice"), pk=pk)


@require_http_methods(["POST"])
@recent_login_required(minutes=10)
def invitation_resend_view(request: HttpRequest, pk: Any) -> HttpResponse:
    actor, invitation = _invitation_for(request, pk)
    try:
        invitation_resend(invitation=invitation, sent_by=signed_in_user(request), site_url=_site_url(request))
    except InvitationRefused as refused:
        return _render_members(
            request, actor, error=refused.message, status=429 if refused.code == "rate_limited" else 400
        )
    except (SMTPException, OSError):
        logger.exception("invitation mail could not be sent")
        return _render_members(request, actor, error="The email could not be sent; try again later.", status=503)
    messages.success(request, f"Invitation sent again to {invitation.email}; the earlier link no longer works.")
    return redirect("accounts:members")


@require_http_methods(["POST"])
@recent_login_required(minutes=10)
def invitation_revoke_view(request: HttpRequest, pk: Any) -> HttpResponse:
    _, invitation = _invitation_for(request, pk)
    if invitation_revoke(invitation=invitation, revoked_by=signed_in_user(request)):
        messages.success(request, f"The invitation of {invitation.email} was revoked; its link no longer works.")
    return redirect("accounts:members")


_UNUSABLE: dict[str, str] = {
    Invitation.Status.ACCEPTED: "This invitation was already used. If it was you, log in.",
    Invitation.Status.REVOKED: "This invitation was withdrawn. Ask the practice for a new one if you need it.",
    Invitation.Status.EXPIRED: "This invitation has expired. Ask the practice to send it again.",
}


def _unusable(request: HttpRequest, status_name: str | None) -> HttpResponse:
    if status_name is None:
        message, status = "This invitation link is not valid. Check that it was copied whole.", 404
    else:
        message, status = _UNUSABLE.get(status_name, "This invitation cannot be used."), 410
    return render(request, "accounts/invitation_unusable.html", {"message": message}, status=status)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link of an invitation email. A new colleague chooses a name and password and is signed in; one who
    has an account signs in with the invited address and accepts."""
    invitation = Invitation.from_link_token(token)
    if invitation is None:
        return _unusable(request, None)
    if invitation.status != Invitation.Status.PENDING:
        return _unusable(request, invitation.status)
    user = request.user if isinstance(request.user, User) else None
    context: dict[str, Any] = {"invitation": invitation, "role": invitation.get_role_display().lower()}
    if user is not None and user.email.lower() != invitation.email:
        return render(request, "accounts/invitation_accept.html", {**context, "wrong_account": True}, status=403)
    if user is None and User.objects.filter(email=invitation.email).exists():
        login_url = f"{reverse('accounts:login')}?{urlencode({'next': request.path})}"
        return render(request, "accounts/invitation_accept.html", {**context, "login_url": login_url})
    form = InvitationAcceptForm(request.POST or None, email=invitation.email) if user is None else None
    if request.method == "GET" or (form is not None and not form.is_valid()):
        status = 400 if request.method == "POST" else 200
        return render(request, "accounts/invitation_accept.html", {**context, "form": form}, status=status)
    try:
        if form is None:
            membership = invitation_accept(invitation=invitation, user=user)
        else:
            membership = invitation_accept(
                invitation=invitation,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
    except InvitationUnusable as unusable:
        return _unusable(request, unusable.status)
    if user is None:
        login(request, membership.user, backend="allauth.account.auth_backends.AuthenticationBackend")
    messages.success(request, f"Welcome to {membership.practice.name}.")
    working_in = current_membership(membership.user)
    if working_in is not None and working_in.practice_id != membership.practice_id:
        messages.info(
            request,
            f"Your pages still show {working_in.practice.name}, the first practice you joined; "
            "moving between practices is not possible yet.",
        )
    return redirect("clinical_sessions:list")


class PracticeSettingsForm(forms.ModelForm[Practice]):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Pages show dates and times in this time zone, naming it; the API always answers in UTC.",
    )

    class Meta:
        model = Practice
        fields = ["name", "time_zone", "require_mfa"]
        help_texts = {
            "require_mfa": "Every member must set up a second factor (an authenticator app or a passkey); those "
            "without one are asked to before anything else. Set one up for yourself first."
        }

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["name"].validators.append(single_line_text)
        zone_field = self.fields["time_zone"]
        assert isinstance(zone_field, forms.ChoiceField)
        zone_field.choices = [
            ("", f"The server's ({settings.TIME_ZONE})"),
            *((name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())),
        ]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("Give the practice a name.")
        return name

    def clean_require_mfa(self) -> bool:
        required = bool(self.cleaned_data.get("require_mfa"))
        if required and not self.instance.require_mfa and not is_mfa_enabled(self.owner):
            # Otherwise the owner's next click would be sent to set it up, unexplained.
            raise forms.ValidationError(
                "Set up two-factor authentication for yourself first (Two-factor, at the top of the page)."
            )
        return required


@require_http_methods(["GET", "POST"])
@recent_login_required(minutes=10)
def practice_settings(request: HttpRequest) -> HttpResponse:
    """The practice's name and time zone, changed by its owners."""
    membership = current_membership(request.user)
    if membership is None or membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only the practice's owners change its settings.")
    practice = membership.practice
    form = PracticeSettingsForm(request.POST or None, instance=practice, owner=signed_in_user(request))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Practice settings saved.")
        return redirect("accounts:practice_settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/practice_settings.html", {"form": form, "practice": practice}, status=status)
