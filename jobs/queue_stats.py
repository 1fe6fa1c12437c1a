"""How the queue stands, read from the job rows: for /readyz and for the metrics scraped by Prometheus."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, DateTimeField, F, Min, OuterRef, Subquery, When
from django.utils import timezone

from jobs.models import Job, JobEvent


@dataclass(frozen=True)
class QueueSnapshot:
    depth: int
    # How long the job that has waited longest for a worker has waited; 0 for an empty queue.
    oldest_age_seconds: float


def queue_snapshot() -> QueueSnapshot:
    """The jobs waiting for a worker (status queued) and the longest wait among them.

    A job waits since its last move into the queue. Every such move writes an event (created, retried, reclaimed)
    except the requeue of a retry that fell due, which follows the retry's own event: for those the requeue's
    time is the row's ``updated_at`` (which the dispatcher's re-sending of a lost task also touches, at most once
    per JOB_RESEND_AFTER_SECONDS).
    """
    latest_event = JobEvent.objects.filter(job_id=OuterRef("pk")).order_by("-created_at", "-pk")
    queued = Job.objects.filter(status=Job.Status.QUEUED).annotate(
        last_event_kind=Subquery(latest_event.values("kind")[:1]),
        last_event_at=Subquery(latest_event.values("created_at")[:1]),
    )
    waiting_since = Case(
        When(last_event_kind=JobEvent.Kind.RETRY_SCHEDULED, then=F("updated_at")),
        When(last_event_at__isnull=True, then=F("updated_at")),
        default=F("last_event_at"),
        output_field=DateTimeField(),
    )
    depth = queued.count()
    if not depth:
        return QueueSnapshot(depth=0, oldest_age_seconds=0.0)
    oldest = queued.annotate(waiting_since=waiting_since).aggregate(oldest=Min("waiting_since"))["oldest"]
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest is not None else 0.0
    return QueueSnapshot(depth=depth, oldest_age_seconds=age)


def queue_gauges() -> Iterable[tuple[str, str, float]]:
    """The scrape-time gauges (config.metrics.register_scrape_gauges)."""
    from config.metrics import OLDEST_QUEUED_JOB_AGE, QUEUE_DEPTH

    snapshot = queue_snapshot()
    yield QUEUE_DEPTH, "Jobs waiting for a worker.", float(snapshot.depth)
    yield (
        OLDEST_QUEUED_JOB_AGE,
        "How long the job waiting longest for a worker has waited.",
        snapshot.oldest_age_seconds,
    )
