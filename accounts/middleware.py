"""What every signed-in request goes through: the session's lifetime, the practice's time zone (and its id in the
log lines), and the practice's demand for a second factor."""

from __future__ import annotations

import time
from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import User
from accounts.reauthentication import LAST_SEEN_AT, SIGNED_IN_AT
from accounts.tenancy import current_membership
from config.log_context import bind_practice

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
                    request, "Your practice requires two-factor authentication. Set up an authenticator app to go on."
                )
                return redirect("mfa_activate_totp")
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
