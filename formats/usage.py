"""Whether a practice's format is in use: named by a session or a note.

Sessions and notes sit above formats and may not be imported here, so each of those apps registers the
question it can answer when it is loaded (its ``AppConfig.ready``). A format in use is retired rather than
deleted, so that the notes written in it keep their layout.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

from accounts.models import Practice

UsageCheck = Callable[[Practice, str], bool]

_checks: dict[str, UsageCheck] = {}


def register_usage_check(name: str, check: UsageCheck) -> None:
    """``check(practice, key)`` says whether rows of the registering app name the format ``key``."""
    _checks[name] = check


def registered_usage_checks() -> tuple[str, ...]:
    return tuple(sorted(_checks))


def format_in_use(practice: Practice, key: str) -> bool:
    if not _checks:
        # Without a check nothing could be known to be unused; deleting on that basis would orphan notes.
        raise ImproperlyConfigured("No app registered a note-format usage check; is the sessions app installed?")
    return any(check(practice, key) for check in _checks.values())
