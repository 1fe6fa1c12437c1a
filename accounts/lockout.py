"""The login lockout's view of a request (django-axes): which account an attempt was for.

Failures are counted per account *and* client address together (settings ``AXES_LOCKOUT_PARAMETERS``), so a
guesser at one address locks only itself out of that account: the clinician at another address still signs in.
"""

from __future__ import annotations

from typing import Any


def login_username(request: Any, credentials: dict[str, Any] | None) -> str | None:
    """The email an attempt was for, lowercased as accounts store it: from allauth's credentials (``email``),
    from another form's (``username``), or from the posted form when no credentials are at hand."""
    value: object = None
    if credentials:
        value = credentials.get("email") or credentials.get("username") or credentials.get("login")
    if not value and request is not None:
        data = getattr(request, "POST", None) or {}
        value = data.get("login") or data.get("username")
    return str(value).strip().lower() if value else None
