"""The client's address, the one way: for the API's per-address limits and for the login lockout alike."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_address_of(request: Any) -> str:
    """The client's address: the connecting one, or behind API_NUM_PROXIES proxies the one the outermost of
    them saw (earlier X-Forwarded-For entries are the client's own word, so they are not trusted)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(settings.API_NUM_PROXIES)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    if proxies and hops:
        return hops[-min(proxies, len(hops))]
    return remote
