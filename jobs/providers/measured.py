"""Every provider request, timed and counted for the metrics: the one wrapper get_transcriber and get_drafter
return, whichever provider is configured. Requests sent from other threads (chunks transcribed in parallel) log
with the job's ids all the same: the wrapper keeps those of the thread that made it."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from config.log_context import current_log_context, log_context
from config.metrics import PROVIDER_REQUEST_SECONDS, PROVIDER_REQUESTS_TOTAL
from formats.builtin import TemplateSpec
from jobs.providers.base import Drafter, DraftResult, ProviderError, Segment, Transcriber, TranscriptionResult


@contextmanager
def measured(provider: str, operation: str, *, context: dict[str, str | None] | None = None) -> Iterator[None]:
    """Time the request and count its outcome: ``ok``, the provider error's code, or ``error``; log lines within
    name the ids in ``context``."""
    with log_context(**(context or {})), _timed_and_counted(provider, operation):
        yield


@contextmanager
def _timed_and_counted(provider: str, operation: str) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except ProviderError as error:
        outcome = str(error.code).lower()
        raise
    finally:
        PROVIDER_REQUEST_SECONDS.labels(provider=provider, operation=operation).observe(time.perf_counter() - started)
        PROVIDER_REQUESTS_TOTAL.labels(provider=provider, operation=operation, outcome=outcome).inc()


class MeasuredTranscriber:
    def __init__(self, inner: Transcriber, *, provider: str) -> None:
        self.inner = inner
        self.provider = provider
        self.model = inner.model
        self.context = current_log_context()

    def transcribe(
        self, path: Path, *, language: str | None = None, duration: float | None = None
    ) -> TranscriptionResult:
        with measured(self.provider, "transcribe", context=self.context):
            return self.inner.transcribe(path, language=language, duration=duration)


class MeasuredDrafter:
    def __init__(self, inner: Drafter, *, provider: str) -> None:
        self.inner = inner
        self.provider = provider
        self.model = inner.model
        self.context = current_log_context()

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        with measured(self.provider, "draft", context=self.context):
            return self.inner.draft(template=template, segments=segments)
