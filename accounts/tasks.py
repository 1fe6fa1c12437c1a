"""Scheduled work of the accounts app (registered in jobs.schedules, which runs every deployment's schedules)."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings


def sessions_clear_expired() -> None:
    """Delete the rows of expired logins, as Django's ``clearsessions`` does: an expired session's row may still hold
    what allauth kept there (an authenticator key waiting for its first code), and nothing else would remove it."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
