"""A loopback fake of the Anthropic Messages API, ``POST /v1/messages``.

A request that forces a tool gets a ``tool_use`` answer with the real message shape; the tool's input comes
from a hook (by default: a draft of every section the tool's schema allows, citing segments of the prompt).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

from tests.fakes.drafting import default_draft, prompt_text
from tests.fakes.server import Answer, FakeAPIServer, Incoming

MESSAGES = "/v1/messages"

DraftHook = Callable[[dict[str, Any]], object]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def default_tool_input(request: dict[str, Any]) -> object:
    tool = _forced_tool(request) or {}
    return default_draft(tool.get("input_schema"), prompt_text(request.get("messages")))


class FakeAnthropic(FakeAPIServer):
    request_id_header = "request-id"

    def __init__(
        self, *, api_key: str = "sk-ant-test-fake", latency: float = 0.0, draft: DraftHook = default_tool_input
    ) -> None:
        super().__init__(api_key=api_key, latency=latency)
        self.draft = draft
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def message_calls(self) -> int:
        return self.calls(MESSAGES)

    def is_authorized(self, headers: Mapping[str, str]) -> bool:
        # The SDK sends the key as a bearer token; curl examples and older SDKs use x-api-key.
        return self.api_key in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))

    def error_body(self, status: int, message: str) -> object:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def answer(self, request: Incoming) -> Answer:
        if request.method != "POST" or request.path != MESSAGES:
            return self.error(404, f"Not found: {request.path}")
        if not request.headers.get("anthropic-version"):
            return self.error(400, "anthropic-version: header is required")
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "The request body is not valid JSON.")
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return self.error(400, f"{name}: Field required")
        choice = body.get("tool_choice") or {}
        tool = _forced_tool(body)
        if choice.get("type") == "tool" and tool is None:
            return self.error(400, f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")
        if tool is not None:
            tool_input = self.draft(body)
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_fake{next(self._ids):06d}",
                    "name": tool["name"],
                    "input": tool_input,
                }
            ]
            output, stop_reason = json.dumps(tool_input), "tool_use"
        else:
            output, stop_reason = "Understood.", "end_turn"
            content = [{"type": "text", "text": output}]
        return (
            200,
            {
                "id": f"msg_fake{next(self._ids):06d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": len(prompt_text(body["messages"])) // 4,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": len(output) // 4,
                    "service_tier": "standard",
                },
            },
            {},
        )


def _forced_tool(request: dict[str, Any]) -> dict[str, Any] | None:
    choice = request.get("tool_choice") or {}
    if choice.get("type") != "tool":
        return None
    tools = request.get("tools") or []
    return next((tool for tool in tools if isinstance(tool, dict) and tool.get("name") == choice.get("name")), None)
