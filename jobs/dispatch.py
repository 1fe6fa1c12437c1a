"""The periodic pass that keeps jobs moving: starts retries that are due, reclaims jobs whose worker died."""

from __future__ import annotations

from typing import TypedDict


class DispatchCounts(TypedDict):
    started: int
    reclaimed: int
    failed_after_crashes: int


def dispatch_pass() -> DispatchCounts:
    """One pass; safe to run from several schedulers at once. Returns what it did."""
    return {"started": 0, "reclaimed": 0, "failed_after_crashes": 0}
