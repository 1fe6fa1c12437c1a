"""Sensitive actions (API keys, members and invitations, practice settings, billing) need a recent sign-in:
``@recent_login_required(minutes=10)`` sends anyone whose last password or second-factor check is older to
confirm it, then back to what they were doing (a form they posted is carried over and sent once confirmed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import suspend_request
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

# Set in the session when a person signs in, by any way (accounts.sign_in).
SIGNED_IN_AT = "accounts.signed_in_at"
LAST_SEEN_AT = "accounts.last_seen_at"

View = TypeVar("View", bound=Callable[..., HttpResponse])


def last_authenticated_at(request: HttpRequest) -> float | None:
    """When this session last proved who it is: its sign-in, or a later re-authentication (allauth records
    those, with password or second factor)."""
    moments = [float(request.session[SIGNED_IN_AT])] if SIGNED_IN_AT in request.session else []
    records = get_authentication_records(request, request.user) if request.user.is_authenticated else []
    moments += [float(record["at"]) for record in records if "at" in record]
    return max(moments) if moments else None


def authenticated_within(request: HttpRequest, *, minutes: float) -> bool:
    moment = last_authenticated_at(request)
    return moment is not None and time.time() - moment <= minutes * 60


# allauth's own pages that need a recent sign-in (its two-factor pages) use the same limit (AccountAdapter).
REAUTHENTICATION_MINUTES = 10


def recent_login_required(minutes: float = REAUTHENTICATION_MINUTES) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated or authenticated_within(request, minutes=minutes):
                return view(request, *args, **kwargs)
            # To the confirmation page and back here; a POST is kept in the session and replayed once the person
            # has confirmed (allauth's own mechanism).
            response: HttpResponse = suspend_request(request, reverse("account_reauthenticate"))
            return response

        return wrapped  # type: ignore[return-value]

    return decorator
