"""Liveness and readiness probes for load balancers and orchestrators, and the Prometheus metrics."""

from __future__ import annotations

import hmac
import logging
import time
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.metrics import metrics_text

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_storage() -> None:
    name = default_storage.save(f"health/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"ok":
                raise RuntimeError("storage returned other bytes than were written")
    finally:
        default_storage.delete(name)


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, object]] = {}
    ready = True
    for name, check in (("database", _check_database), ("storage", _check_storage)):
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 — any failure means not ready; the reason is logged
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = {"ok": False, "error": type(exc).__name__}
            ready = False
        else:
            checks[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    body: dict[str, object] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if ready:
        body["queue"] = _queue_report()
    return JsonResponse(body, status=200 if ready else 503)


def _queue_report() -> dict[str, object]:
    """How many jobs wait for a worker and for how long the oldest has: reported, not a readiness condition (a
    backlog is the workers' problem, not this web process's)."""
    from jobs.queue_stats import queue_snapshot

    snapshot = queue_snapshot()
    return {"depth": snapshot.depth, "oldest_age_seconds": round(snapshot.oldest_age_seconds, 1)}


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for a scraper that sends ``Authorization: Bearer <METRICS_TOKEN>``.

    Without the right token the endpoint does not exist (404), so it tells a scanner nothing. With no token
    configured it is served only with DEBUG on (the demo); a production server needs METRICS_TOKEN.
    """
    token = str(settings.METRICS_TOKEN)
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise Http404
    elif not settings.DEBUG:
        raise Http404
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
