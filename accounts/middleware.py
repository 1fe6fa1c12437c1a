"""Pages show times in the time zone of the practice the user works in."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.tenancy import current_membership


class PracticeTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        membership = current_membership(user) if user is not None and user.is_authenticated else None
        # Kept for the page's context (config.context_processors), so it is looked up once per request.
        request.current_membership = membership  # type: ignore[attr-defined]
        if membership is None:
            return self.get_response(request)
        with timezone.override(membership.practice.zone):
            return self.get_response(request)
