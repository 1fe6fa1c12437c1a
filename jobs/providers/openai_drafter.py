"""Drafting through an OpenAI-compatible chat completions endpoint (OpenAI, or an on-premises model server).

Structured output uses ``response_format`` with a JSON schema, which vLLM, Ollama and llama.cpp's server
support as well as OpenAI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import openai
from openai.types.chat import ChatCompletion

from formats.builtin import TemplateSpec
from jobs.providers.base import DraftResult, ProviderError, ProviderErrorCode, Segment, reading_response
from jobs.providers.drafting import (
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    TOOL_NAME,
    build_user_prompt,
    draft_schema,
    parse_draft,
)
from jobs.providers.openai_client import make_openai_client, provider_error_from_openai

SERVICE = "drafting service"


class OpenAIDrafter:
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
        self._client = make_openai_client(api_key=api_key, base_url=base_url, timeout=timeout)

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                max_completion_tokens=self.max_output_tokens,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": build_user_prompt(template, segments)},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": TOOL_NAME, "schema": draft_schema(template), "strict": True},
                },
            )
        except openai.OpenAIError as error:
            raise provider_error_from_openai(error, service=SERVICE) from None
        with reading_response(service=SERVICE):
            usage = completion.usage
            return DraftResult(
                sections=parse_draft(_answer(completion), template, service=SERVICE),
                model=str(completion.model or self.model),
                prompt_version=PROMPT_VERSION,
                usage={
                    "input_tokens": usage.prompt_tokens if usage else 0,
                    "output_tokens": usage.completion_tokens if usage else 0,
                },
            )


def _answer(completion: ChatCompletion) -> object:
    # An answer cut at the token limit, filtered or refused cannot be a whole note.
    if not completion.choices:
        raise ProviderError(ProviderErrorCode.BAD_RESPONSE, service=SERVICE)
    choice = completion.choices[0]
    if choice.finish_reason != "stop" or choice.message.refusal or not choice.message.content:
        raise ProviderError(ProviderErrorCode.BAD_RESPONSE, service=SERVICE)
    try:
        return json.loads(choice.message.content)
    except ValueError:
        raise ProviderError(ProviderErrorCode.BAD_RESPONSE, service=SERVICE) from None
