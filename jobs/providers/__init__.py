"""AI providers: adapters over the transcription and drafting APIs, behind the ``Transcriber`` and ``Drafter``
protocols. Nothing here touches the database."""

from __future__ import annotations

from jobs.providers.base import (
    Drafter,
    DraftResult,
    DraftSection,
    DraftStatement,
    ProviderError,
    ProviderErrorCode,
    Segment,
    Transcriber,
    TranscriptionResult,
)
from jobs.providers.factory import get_drafter, get_transcriber

__all__ = [
    "DraftResult",
    "DraftSection",
    "DraftStatement",
    "Drafter",
    "ProviderError",
    "ProviderErrorCode",
    "Segment",
    "Transcriber",
    "TranscriptionResult",
    "get_drafter",
    "get_transcriber",
]
