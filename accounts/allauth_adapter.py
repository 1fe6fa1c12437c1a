"""How django-allauth behaves here: it signs people in (with their second factor) and re-authenticates them;
accounts come from invitations and the create_practice command, so nobody signs up."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.http import HttpRequest

from accounts.reauthentication import REAUTHENTICATION_MINUTES, authenticated_within


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no types
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth's pages (setting up or removing a second factor, recovery codes) count a recent sign-in as
        recent proof, as ``recent_login_required`` does, rather than only a re-authentication."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = context.request
        return request is None or not authenticated_within(request, minutes=REAUTHENTICATION_MINUTES)
