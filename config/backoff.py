"""The one backoff formula every retry in the service waits by (pipeline jobs and webhook deliveries)."""

from __future__ import annotations

# Past 2^62 every cap is long reached; stopping the exponent there keeps the float from overflowing.
_MAX_EXPONENT = 62


def backoff_seconds(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """``min(base·2^(n-1), cap)`` seconds after attempt ``n``, or the peer's Retry-After when that is longer
    (capped too, so that a peer cannot park the work for days)."""
    exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
    delay: float = min(base * 2.0**exponent, cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
