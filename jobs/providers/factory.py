"""The configured providers, from django settings: the one place that reads them."""

from __future__ import annotations

from django.conf import settings

from jobs.providers.base import Drafter, ProviderError, ProviderErrorCode, Transcriber
from jobs.providers.measured import MeasuredDrafter, MeasuredTranscriber

TRANSCRIPTION_TIMEOUT_SECONDS = 600.0
DRAFTING_TIMEOUT_SECONDS = 300.0


def get_transcriber() -> Transcriber:
    """The configured transcriber; its requests are timed and counted (jobs.providers.measured)."""
    mode = _ai_mode()
    if mode == "stub":
        from jobs.providers.stub import StubTranscriber

        return MeasuredTranscriber(StubTranscriber(), provider="stub")
    # Imported here so that processes which never call a live provider do not load the SDKs.
    from jobs.providers.openai_transcriber import OpenAITranscriber

    transcriber = OpenAITranscriber(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        model=settings.TRANSCRIPTION_MODEL,
        timeout=TRANSCRIPTION_TIMEOUT_SECONDS,
    )
    return MeasuredTranscriber(transcriber, provider="openai")


def transcription_model() -> str:
    """The model the transcriber would use, without building it (a transcript is reused only from the same one)."""
    if str(settings.AI_MODE) == "stub":
        from jobs.providers.stub import StubTranscriber

        return StubTranscriber.model
    return str(settings.TRANSCRIPTION_MODEL)


def get_drafter() -> Drafter:
    """The configured drafter; its requests are timed and counted (jobs.providers.measured)."""
    mode = _ai_mode()
    if mode == "stub":
        from jobs.providers.stub import StubDrafter

        return MeasuredDrafter(StubDrafter(), provider="stub")
    if settings.DRAFTING_PROVIDER == "openai":
        from jobs.providers.openai_drafter import OpenAIDrafter

        drafter: Drafter = OpenAIDrafter(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            model=settings.DRAFTING_MODEL,
            timeout=DRAFTING_TIMEOUT_SECONDS,
        )
        return MeasuredDrafter(drafter, provider="openai")
    from jobs.providers.anthropic_drafter import AnthropicDrafter

    drafter = AnthropicDrafter(
        api_key=settings.ANTHROPIC_API_KEY,
        base_url=settings.ANTHROPIC_BASE_URL,
        model=settings.DRAFTING_MODEL,
        timeout=DRAFTING_TIMEOUT_SECONDS,
    )
    return MeasuredDrafter(drafter, provider="anthropic")


def _ai_mode() -> str:
    mode = str(settings.AI_MODE)
    if mode == "off":
        raise ProviderError(ProviderErrorCode.AI_DISABLED)
    if mode not in ("live", "stub"):
        raise ValueError(f"AI_MODE must be live, stub or off, not {mode!r}")
    return mode
