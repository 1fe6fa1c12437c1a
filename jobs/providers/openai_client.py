"""The OpenAI SDK client as the providers use it, and the mapping of its exceptions to ``ProviderError``."""

from __future__ import annotations

import openai

from jobs.providers.base import ProviderError, ProviderErrorCode

CONNECT_TIMEOUT_SECONDS = 10.0


def make_openai_client(*, api_key: str, base_url: str | None, timeout: float) -> openai.OpenAI:
    # The pipeline owns retries (with backoff and Retry-After) and counts attempts; SDK retries would hide them.
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url or "https://api.openai.com/v1",
        timeout=openai.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
        max_retries=0,
    )


def provider_error_from_openai(error: openai.OpenAIError, *, service: str) -> ProviderError:
    if isinstance(error, openai.APITimeoutError):
        return ProviderError(ProviderErrorCode.TIMEOUT, service=service)
    if isinstance(error, openai.APIConnectionError):
        return ProviderError(ProviderErrorCode.CONNECTION_FAILED, service=service)
    if isinstance(error, openai.APIStatusError):
        return ProviderError.from_status(
            error.status_code, service=service, headers=error.response.headers, request_id=error.request_id
        )
    return ProviderError(ProviderErrorCode.BAD_RESPONSE, service=service)
