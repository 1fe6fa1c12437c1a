"""Drafting through the Anthropic Messages API, with a forced tool whose input schema is the note."""

from __future__ import annotations

from collections.abc import Sequence

import anthropic
from anthropic.types import Message, ToolUseBlock

from formats.builtin import TemplateSpec
from jobs.providers.base import DraftResult, ProviderError, ProviderErrorCode, Segment, reading_response
from jobs.providers.drafting import (
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    build_user_prompt,
    draft_schema,
    parse_draft,
)

SERVICE = "drafting service"
CONNECT_TIMEOUT_SECONDS = 10.0


class AnthropicDrafter:
    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 300.0,
        max_output_tokens: int = 8192,
    ) -> None:
        self.model = model
        self.max_output_tokens = max_output_tokens
        # The pipeline owns retries (with backoff and Retry-After) and counts attempts; SDK retries would hide them.
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url or "https://api.anthropic.com",
            timeout=anthropic.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)),
            max_retries=0,
        )

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=self.max_output_tokens,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": build_user_prompt(template, segments)}],
                tools=[{"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": draft_schema(template)}],
                tool_choice={"type": "tool", "name": TOOL_NAME, "disable_parallel_tool_use": True},
            )
        except anthropic.AnthropicError as error:
            raise _provider_error(error) from None
        with reading_response(service=SERVICE):
            return DraftResult(
                sections=parse_draft(_tool_input(message), template, service=SERVICE),
                model=str(message.model or self.model),
                prompt_version=PROMPT_VERSION,
                usage={"input_tokens": message.usage.input_tokens, "output_tokens": message.usage.output_tokens},
            )


def _tool_input(message: Message) -> object:
    # An answer cut at max_tokens carries a truncated tool input; reading it would lose sections silently.
    if message.stop_reason == "max_tokens":
        raise ProviderError(ProviderErrorCode.BAD_RESPONSE, service=SERVICE)
    for block in message.content:
        if isinstance(block, ToolUseBlock) and block.name == TOOL_NAME:
            return block.input
    raise ProviderError(ProviderErrorCode.BAD_RESPONSE, service=SERVICE)


def _provider_error(error: anthropic.AnthropicError) -> ProviderError:
    if isinstance(error, anthropic.APITimeoutError):
        return ProviderError(ProviderErrorCode.TIMEOUT, service=SERVICE)
    if isinstance(error, anthropic.APIConnectionError):
        return ProviderError(ProviderErrorCode.CONNECTION_FAILED, service=SERVICE)
    if isinstance(error, anthropic.APIStatusError):
        return ProviderError.from_status(
            error.status_code, service=SERVICE, headers=error.response.headers, request_id=error.request_id
        )
    return ProviderError(ProviderErrorCode.BAD_RESPONSE, service=SERVICE)
