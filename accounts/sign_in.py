"""What happens around signing in, wired in AccountsConfig.ready: the session's clocks start, and a change of
second factors ends the account's other sessions."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest

from accounts.models import User
from accounts.reauthentication import LAST_SEEN_AT, SIGNED_IN_AT


def session_clocks_start(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On every sign-in (the form, a second factor, an accepted invitation): the absolute lifetime, the idle
    timer and the last proof of identity all start now."""
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN_AT] = now


def other_sessions_end(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A second factor was added, removed or renamed, or its recovery codes renewed: every other session of the
    account ends (its stamp is part of each session's check), and this one carries on."""
    if not isinstance(user, User):
        return
    user.rotate_session_stamp()
    if request is not None and hasattr(request, "session") and request.user.is_authenticated:
        if isinstance(request.user, User) and request.user.pk == user.pk:
            request.user.session_stamp = user.session_stamp
        update_session_auth_hash(request, user)
