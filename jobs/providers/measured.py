"""Every provider request, timed and counted for the metrics: the one wrapper get_transcriber and get_drafter
return, whichever provider is configured."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from config.metrics import PROVIDER_REQUEST_SECONDS, PROVIDER_REQUESTS_TOTAL
from formats.builtin import TemplateSpec
from jobs.providers.base import Drafter, DraftResult, ProviderError, Segment, Transcriber, TranscriptionResult


@contextmanager
def measured(provider: str, operation: str) -> Iterator[None]:
    """Time the request and count its outcome: ``ok``, the provider error's code, or ``error``."""
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

    def transcribe(
        self, path: Path, *, language: str | None = None, duration: float | None = None
    ) -> TranscriptionResult:
        with measured(self.provider, "transcribe"):
            return self.inner.transcribe(path, language=language, duration=duration)


class MeasuredDrafter:
    def __init__(self, inner: Drafter, *, provider: str) -> None:
        self.inner = inner
        self.provider = provider
        self.model = inner.model

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        with measured(self.provider, "draft"):
            return self.inner.draft(template=template, segments=segments)
