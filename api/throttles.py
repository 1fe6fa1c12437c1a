"""Rate limits: requests counted per caller or per IP in fixed windows kept in the database, so every web process
shares one count."""

from __future__ import annotations

import re
import time
from typing import ClassVar

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.rate_limits import rate_counter_hit
from api.authentication import caller_identity

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


class DatabaseRateThrottle(BaseThrottle):
    """A fixed-window limit on the view's ``throttle_scope``, counted in the database.

    The rate comes from the setting ``API_RATE_<SCOPE>`` (``API_RATE_<SCOPE>_PER_IP`` for the per-IP
    limit), read on each request.
    """

    setting_suffix: ClassVar[str] = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope or request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        rate = getattr(settings, f"API_RATE_{scope.upper()}{self.setting_suffix}", "")
        identity = self.identity(request)
        if not rate or identity is None:
            return True
        limit, window = parse_rate(rate)
        now = time.time()
        count, window_start = rate_counter_hit(scope=scope, identity=identity, window_seconds=window, now=now)
        if count <= limit:
            return True
        self._wait = max(1.0, window_start + window - now)
        return False

    def wait(self) -> float | None:
        return self._wait


class CallerRateThrottle(DatabaseRateThrottle):
    """Per API key (or per signed-in user)."""

    def identity(self, request: Request) -> str | None:
        try:
            return caller_identity(request)
        except exceptions.NotAuthenticated:
            return None


class IpRateThrottle(DatabaseRateThrottle):
    """Per client address."""

    setting_suffix = "_PER_IP"

    def identity(self, request: Request) -> str | None:
        return f"ip:{client_address(request)}"


def client_address(request: Request) -> str:
    """The client's address: the connecting one, or behind API_NUM_PROXIES proxies the one the outermost of
    them saw (earlier X-Forwarded-For entries are the client's own word, so they are not trusted)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(settings.API_NUM_PROXIES)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    if proxies and hops:
        return hops[-min(proxies, len(hops))]
    return remote
