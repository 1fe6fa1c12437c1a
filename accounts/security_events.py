"""Security events in the audit trail: logins, failed logins, logouts, two-factor changes.

Django's authentication signals carry them (the login page, the admin's and django-allauth's alike); django-allauth's
MFA signals, when its MFA app is installed, carry the two-factor changes, and ``authenticator_renamed`` the one it
has no signal for (a passkey renamed, ``accounts.mfa_forms``). Connected by ``AccountsConfig.ready``.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from accounts.tenancy import current_membership

Action = AuditEvent.Action

# Sent, as allauth's MFA signals are (request, user, authenticator), when a passkey is renamed.
authenticator_renamed = Signal()
# How the audit trail names each kind of authenticator.
_KINDS = {"webauthn": "passkey"}


def _practice_id(user: User) -> Any:
    membership = current_membership(user)
    return membership.practice_id if membership is not None else None


def _on_login(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if isinstance(user, User):
        audit_record(
            action=Action.LOGIN,
            actor=user,
            practice_id=_practice_id(user),
            object_type=AuditEvent.ObjectType.USER,
            object_id=user.pk,
        )


def _on_logout(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if isinstance(user, User):
        audit_record(
            action=Action.LOGOUT,
            actor=user,
            practice_id=_practice_id(user),
            object_type=AuditEvent.ObjectType.USER,
            object_id=user.pk,
        )


def _on_login_failed(sender: Any, credentials: dict[str, Any] | None = None, request: Any = None, **kw: Any) -> None:
    """Whoever tried is unknown; the account tried is the object, named only when one has the address typed:
    anything else typed into the field (a password pasted in the wrong box) is never stored. The event goes on
    that account's practice, whose owners see the attempts on their members."""
    typed = str((credentials or {}).get("username") or (credentials or {}).get("email") or "").strip().lower()
    user = User.objects.filter(email=typed).first() if typed else None
    audit_record(
        action=Action.LOGIN_FAILED,
        actor=None,
        actor_label="unknown",
        practice_id=_practice_id(user) if user is not None else None,
        object_type=AuditEvent.ObjectType.USER if user is not None else "",
        object_id=user.pk if user is not None else "",
        outcome=AuditEvent.Outcome.DENIED,
    )


def _on_authenticator_change(change: str) -> Any:
    def receiver(sender: Any, request: Any = None, user: Any = None, authenticator: Any = None, **kw: Any) -> None:
        if not isinstance(user, User):
            return
        kind = str(getattr(authenticator, "type", "") or "authenticator")
        kind = _KINDS.get(kind, kind)
        audit_record(
            action=Action.MFA_CHANGE,
            actor=user,
            practice_id=_practice_id(user),
            object_type=AuditEvent.ObjectType.USER,
            object_id=user.pk,
            detail=f"{kind} {change}",
        )

    return receiver


_mfa_receivers: list[Any] = []


def connect_security_events() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="accounts.audit.login")
    user_logged_out.connect(_on_logout, dispatch_uid="accounts.audit.logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="accounts.audit.login_failed")
    if apps.is_installed("allauth.mfa"):
        mfa_signals = importlib.import_module("allauth.mfa.signals")

        for signal, change in (
            (mfa_signals.authenticator_added, "added"),
            (mfa_signals.authenticator_removed, "removed"),
            (mfa_signals.authenticator_reset, "reset"),
            (authenticator_renamed, "renamed"),
        ):
            receiver = _on_authenticator_change(change)
            # Signals hold receivers weakly: these closures are kept alive here.
            _mfa_receivers.append(receiver)
            signal.connect(receiver, dispatch_uid=f"accounts.audit.mfa_{change}")
