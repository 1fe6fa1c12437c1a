"""Times as the API and webhooks write them: ISO 8601 in UTC, with a ``Z``."""

from __future__ import annotations

import datetime as dt


def utc_iso(moment: dt.datetime) -> str:
    """``2026-11-29T02:46:53.123456Z`` for an aware datetime, whatever its time zone."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
