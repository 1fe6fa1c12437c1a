"""Rate limits: requests counted per caller or per IP in fixed windows kept in the database, so every web process
shares one count."""

from __future__ import annotations

import time
from typing import ClassVar

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.rate_limits import parse_rate, rate_counter_hit
from api.authentication import caller_identity
from config.net import client_address_of


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
    """The client's address (config.net.client_address_of, which the login lockout uses too)."""
    return client_address_of(request)
