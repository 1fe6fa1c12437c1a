"""The Prometheus metrics of web and worker processes, defined in one leaf module every app may import.

prometheus-client runs in multiprocess mode: each process writes its counters and histograms to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by config.settings before this module is imported) and ``/metrics`` sums the
files of every process, so the figures are right with several gunicorn workers and qcluster processes. Gauges
that describe the database (the queue) are not kept by processes: they are computed when Prometheus scrapes,
by the functions registered with ``register_scrape_gauges``.

Labels are closed sets (stage names, statuses, error codes, provider names, operations): never an id, never
anything a person typed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

F = TypeVar("F", bound=Callable[..., Any])

# Seconds, from a fast storage write to a long transcription.
_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

JOB_STAGE_SECONDS = Histogram(
    "sessionscribe_job_stage_seconds", "Time a pipeline stage took, per run of it.", ["stage"], buckets=_BUCKETS
)
JOBS_TOTAL = Counter("sessionscribe_jobs", "Jobs that reached a status (queued, running, succeeded, …).", ["status"])
JOB_RETRIES_TOTAL = Counter("sessionscribe_job_retries", "Automatic retries scheduled, by error code.", ["error_code"])
PROVIDER_REQUEST_SECONDS = Histogram(
    "sessionscribe_provider_request_seconds",
    "Time an AI provider took to answer one request.",
    ["provider", "operation"],
    buckets=_BUCKETS,
)
PROVIDER_REQUESTS_TOTAL = Counter(
    "sessionscribe_provider_requests",
    "Requests to AI providers, by outcome (ok, or the provider error code).",
    ["provider", "operation", "outcome"],
)
UPLOAD_SECONDS = Histogram(
    "sessionscribe_upload_seconds", "Time to receive and check an upload.", ["operation"], buckets=_BUCKETS
)
STORAGE_SECONDS = Histogram(
    "sessionscribe_storage_seconds",
    "Time of one storage operation (save, open, delete).",
    ["operation"],
    buckets=_BUCKETS,
)
# Counted by the faithfulness checker (notes/faithfulness/) for every flag it raises: faithfulness_flag_counted(kind).
FAITHFULNESS_FLAGS_TOTAL = Counter(
    "sessionscribe_faithfulness_flags", "Flags raised by the faithfulness checker, by kind.", ["kind"]
)

QUEUE_DEPTH = "sessionscribe_queue_depth"
OLDEST_QUEUED_JOB_AGE = "sessionscribe_oldest_queued_job_age_seconds"


def faithfulness_flag_counted(kind: str) -> None:
    FAITHFULNESS_FLAGS_TOTAL.labels(kind=kind).inc()


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe how long the block took, whether it returned or raised."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(**labels).observe(time.perf_counter() - started)


def observed(histogram: Histogram, **labels: str) -> Callable[[F], F]:
    """The decorator form of ``timed``."""

    def decorator(function: F) -> F:
        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with timed(histogram, **labels):
                return function(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# --- Gauges computed at scrape time ---------------------------------------------------------------

GaugeReading = Callable[[], Iterable[tuple[str, str, float]]]
_scrape_gauges: list[GaugeReading] = []


def register_scrape_gauges(reading: GaugeReading) -> None:
    """``reading()`` returns (name, help, value) triples, read when Prometheus scrapes (from the database)."""
    if reading not in _scrape_gauges:
        _scrape_gauges.append(reading)


_DECLARED = (
    JOB_STAGE_SECONDS,
    JOBS_TOTAL,
    JOB_RETRIES_TOTAL,
    PROVIDER_REQUEST_SECONDS,
    PROVIDER_REQUESTS_TOTAL,
    UPLOAD_SECONDS,
    STORAGE_SECONDS,
    FAITHFULNESS_FLAGS_TOTAL,
)


class _Everything(Collector):
    """The sum of every process's files; every declared family, even one nothing has counted yet (so a dashboard
    or an alert finds it); the scrape-time gauges."""

    def collect(self) -> Iterator[Metric]:
        seen: set[str] = set()
        for family in multiprocess.MultiProcessCollector(None).collect():  # type: ignore[no-untyped-call]
            seen.add(family.name)
            yield family
        for metric in _DECLARED:
            for family in metric.collect():
                if family.name not in seen:
                    seen.add(family.name)
                    yield Metric(family.name, family.documentation, family.type)
        for reading in _scrape_gauges:
            for name, documentation, value in reading():
                yield GaugeMetricFamily(name, documentation, value=value)


def metrics_text() -> bytes:
    """Prometheus' text format of everything above."""
    registry = CollectorRegistry()
    registry.register(_Everything())
    return generate_latest(registry)
