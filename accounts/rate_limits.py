"""Requests counted in fixed windows kept in the database, so that every web process shares one count: the
API's rate limits and the pages' (invitations sent) use the same counter."""

from __future__ import annotations

import time

from django.db import connection

from accounts.models import RateLimitCounter


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
