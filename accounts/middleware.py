"""What every signed-in request goes through: the session's lifetime, the practice's time zone (and its id in the
log lines), the practice's demand for a second factor; and the audit of every request to a PHI route."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.audit import (
    AuditAnnotation,
    actor_fields,
    client_ip_for,
    current_client_ip,
    outcome_for_status,
    session_of,
)
from accounts.audit_routes import PhiRoute, phi_route
from accounts.models import ApiKey, AuditEvent, User
from accounts.reauthentication import LAST_SEEN_AT, SIGNED_IN_AT
from accounts.tenancy import current_membership
from config.log_context import bind_practice
from config.middleware import current_request_id

# The idle timer is written to the session at most this often, not on every request.
_LAST_SEEN_RESOLUTION_SECONDS = 60


class SessionLifetimeMiddleware:
    """Ends a signed-in session after ``SESSION_IDLE_TIMEOUT_MINUTES`` without a request, and in any case
    ``SESSION_ABSOLUTE_HOURS`` after signing in. The person is then signed out, as if they had pressed Log out,
    and the login requirement that follows sends them to the login page (the API answers 401)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        now = time.time()
        session = request.session
        signed_in_at = session.get(SIGNED_IN_AT)
        last_seen_at = session.get(LAST_SEEN_AT)
        if signed_in_at is None:
            # A session from before these clocks existed: its clocks start now.
            session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now
            return
        idle_for = now - float(last_seen_at if last_seen_at is not None else signed_in_at)
        if now - float(signed_in_at) > settings.SESSION_ABSOLUTE_HOURS * 3600:
            self._end(request, f"You were signed out {settings.SESSION_ABSOLUTE_HOURS} hours after signing in.")
        elif idle_for > settings.SESSION_IDLE_TIMEOUT_MINUTES * 60:
            self._end(
                request, f"You were signed out after {settings.SESSION_IDLE_TIMEOUT_MINUTES} minutes without activity."
            )
        elif idle_for >= _LAST_SEEN_RESOLUTION_SECONDS:
            session[LAST_SEEN_AT] = now

    @staticmethod
    def _end(request: HttpRequest, message: str) -> None:
        logout(request)
        messages.info(request, message)


class PracticeTimeZoneMiddleware:
    """Pages show times in the time zone of the practice the user works in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        membership = current_membership(user) if user is not None and user.is_authenticated else None
        # Kept for the page's context (config.context_processors), so it is looked up once per request.
        request.current_membership = membership  # type: ignore[attr-defined]
        if membership is None:
            return self.get_response(request)
        bind_practice(membership.practice_id)
        with timezone.override(membership.practice.zone):
            return self.get_response(request)


# What a member of a practice that requires a second factor may still open before having one: setting it up,
# confirming who they are for that, and signing out.
_SETUP_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_list_webauthn",
        "mfa_reauthenticate_webauthn",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "account_reauthenticate",
        "mfa_reauthenticate",
        "account_logout",
        "logout",
    }
)


class RequiredMfaMiddleware:
    """A practice whose owner requires two-factor authentication: its members without a second factor are sent to
    set one up before anything else (the API, with the browser session, refuses them)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._must_set_up(request):
            if request.path.startswith("/api/"):
                raise PermissionDenied("Your practice requires two-factor authentication; set it up first.")
            if not self._is_setup_page(request):
                messages.warning(
                    request,
                    "Your practice requires two-factor authentication. Set up an authenticator app or add a passkey "
                    "to go on.",
                )
                return redirect("mfa_index")
        return self.get_response(request)

    @staticmethod
    def _must_set_up(request: HttpRequest) -> bool:
        user = request.user
        if not isinstance(user, User):
            return False
        membership = getattr(request, "current_membership", None)
        if membership is None or not membership.practice.require_mfa:
            return False
        return not is_mfa_enabled(user)

    @staticmethod
    def _is_setup_page(request: HttpRequest) -> bool:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.url_name in _SETUP_URL_NAMES


class AuditMiddleware:
    """Records one audit event for every request to a route of the PHI registry (``accounts.audit_routes``), once
    the view has answered, with the outcome its status gives.

    The actor is the request's API key or signed-in user (a view may name another, e.g. the caller a signed
    download link was issued to); requests with neither are not recorded, since they were refused before any
    view ran. The event goes on the caller's practice, whatever object was asked for.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        annotation = AuditAnnotation()
        request.audit_annotation = annotation  # type: ignore[attr-defined]
        with client_ip_for(request):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            route = phi_route(match.view_name) if match is not None else None
            if route is not None and match is not None:
                _record_request(request, response, route, match.kwargs, annotation.values)
        return response


def _caller(request: HttpRequest) -> tuple[ApiKey | User | None, uuid.UUID | None]:
    # DRF sets the API key on the Django request too (request.auth) once it has authenticated the call.
    key = getattr(request, "auth", None)
    if isinstance(key, ApiKey):
        return key, key.practice_id
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated:
        # Looked up once per request by PracticeTimeZoneMiddleware, before the view could change it.
        known = hasattr(request, "current_membership")
        membership = request.current_membership if known else current_membership(user)  # type: ignore[attr-defined]
        return user, membership.practice_id if membership is not None else None
    return None, None


def _record_request(
    request: HttpRequest, response: HttpResponse, route: PhiRoute, kwargs: dict[str, Any], noted: dict[str, Any]
) -> None:
    method = request.method or "GET"
    if not route.accepts(method):
        return
    action = route.action_for(method)
    if action is None:
        return
    actor, practice_id = _caller(request)
    fields: dict[str, Any] = actor_fields(actor) if actor is not None else {}
    for name in ("actor_user_id", "actor_api_key_id", "actor_label", "practice_id"):
        if name in noted:
            fields[name] = noted[name]
    if not (fields.get("actor_user_id") or fields.get("actor_api_key_id")):
        return
    fields.setdefault("practice_id", practice_id)
    outcome = outcome_for_status(response.status_code)
    object_id = str(noted.get("object_id") or (kwargs.get(route.id_kwarg, "") if route.id_kwarg else ""))
    session_id = noted.get("session_id") or (kwargs.get(route.session_kwarg) if route.session_kwarg else None)
    if session_id is None and outcome == AuditEvent.Outcome.SUCCESS:
        # Only once the caller was shown the object: the lookup would otherwise name another practice's session.
        session_id = session_of(route.object_type, object_id)
    event = {
        **fields,
        "action": action,
        "object_type": route.object_type,
        "object_id": object_id[:64],
        "session_id": session_id,
        "outcome": outcome,
    }
    if route.coalesce_seconds and _recently_recorded(event, route.coalesce_seconds):
        return
    AuditEvent.objects.create(
        **event,
        status_code=response.status_code,
        detail=str(noted.get("detail", ""))[:500],
        ip=current_client_ip(),
        request_id=current_request_id() if current_request_id() != "-" else "",
    )


def _recently_recorded(event: dict[str, Any], seconds: int) -> bool:
    same = {name: event.get(name) for name in ("practice_id", "actor_user_id", "actor_api_key_id")}
    return AuditEvent.objects.filter(
        **same,
        action=event["action"],
        object_type=event["object_type"],
        object_id=event["object_id"],
        session_id=event["session_id"],
        outcome=event["outcome"],
        occurred_at__gte=timezone.now() - dt.timedelta(seconds=seconds),
    ).exists()
