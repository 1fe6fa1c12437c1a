"""Requests counted in fixed windows kept in the database, so that every web process shares one count: the
API's rate limits and the pages' (invitations sent) use the same counter."""

from __future__ import annotations

import re
import time

from django.db import connection

from accounts.models import RateLimitCounter

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/min"`` → (30 requests, 60 seconds). Periods: s, min, hour, day (and their spellings)."""
    match = _RATE.match(rate.lower())
    if match is None or match.group(2) not in _PERIODS:
        raise ValueError(f"{rate!r} is not a rate like 30/min, 500/hour or 5/s.")
    return int(match.group(1)), _PERIODS[match.group(2)]


def rate_counter_hit(*, scope: str, identity: str, window_seconds: int, now: float | None = None) -> tuple[int, int]:
    """Count one request in the current window with one atomic upsert; returns (count so far, window start)."""
    moment = time.time() if now is None else now
    window_start = int(moment // window_seconds) * window_seconds
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    count_column = connection.ops.quote_name("count")
    sql = (
        f"INSERT INTO {table} (scope, identity, window_start, {count_column}) VALUES (%s, %s, %s, 1) "  # noqa: S608 — names are ours, values are parameters
        f"ON CONFLICT (scope, identity, window_start) DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
        f"RETURNING {count_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope, identity, window_start])
        row = cursor.fetchone()
    count = int(row[0]) if row else 1
    if count == 1:
        # A new window: the caller's older windows are of no further use.
        RateLimitCounter.objects.filter(scope=scope, identity=identity, window_start__lt=window_start).delete()
    return count, window_start


def rate_counter_count(*, scope: str, identity: str, window_seconds: int, now: float | None = None) -> tuple[int, int]:
    """The count so far in the current window, without counting this call; returns (count, window start)."""
    moment = time.time() if now is None else now
    window_start = int(moment // window_seconds) * window_seconds
    row = (
        RateLimitCounter.objects.filter(scope=scope, identity=identity, window_start=window_start)
        .values_list("count", flat=True)
        .first()
    )
    return int(row or 0), window_start
