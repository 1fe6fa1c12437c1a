"""Both drafters, through the fakes of their APIs: one contract, one prompt, one validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from formats.builtin import BUILTIN_TEMPLATES
from jobs.providers.anthropic_drafter import AnthropicDrafter
from jobs.providers.base import Drafter, ProviderError, Segment
from jobs.providers.drafting import PROMPT_VERSION, SYSTEM_PROMPT, TOOL_NAME
from jobs.providers.openai_drafter import OpenAIDrafter
from tests.fakes import FakeAnthropic, FakeOpenAI, Reply

SOAP = BUILTIN_TEMPLATES["soap"]
PHI = "Jane Roe disclosed thoughts of self-harm"
SEGMENTS = (
    Segment(id=0, start=0.0, end=5.5, text="How have you been sleeping?", speaker="clinician"),
    Segment(id=1, start=5.5, end=12.0, text="Badly, maybe four hours a night.", speaker="client"),
    Segment(id=2, start=65.0, end=70.0, text="Let's try a wind-down routine.", speaker="clinician"),
)


@dataclass
class DraftingAPI:
    """A drafter wired to the fake of its API, and a way to make the model answer a given payload."""

    make: Callable[..., Drafter]
    fake: FakeOpenAI | FakeAnthropic
    answer: Callable[[object], None]
    path: str

    @property
    def drafter(self) -> Drafter:
        return self.make()

    @property
    def last_request(self) -> Any:
        return self.fake.requests[-1].json


@pytest.fixture(params=["anthropic", "openai"])
def api(request, fake_anthropic, fake_openai) -> DraftingAPI:
    if request.param == "anthropic":

        def answer_anthropic(payload: object) -> None:
            fake_anthropic.draft = lambda body: payload

        def anthropic_drafter(timeout: float = 10.0) -> Drafter:
            return AnthropicDrafter(
                api_key=fake_anthropic.api_key, base_url=fake_anthropic.base_url, model="claude-x", timeout=timeout
            )

        return DraftingAPI(anthropic_drafter, fake_anthropic, answer_anthropic, "/v1/messages")

    def answer_openai(payload: object) -> None:
        fake_openai.chat = lambda body: json.dumps(payload)

    def openai_drafter(timeout: float = 10.0) -> Drafter:
        return OpenAIDrafter(
            api_key=fake_openai.api_key, base_url=fake_openai.base_url, model="local-llm", timeout=timeout
        )

    return DraftingAPI(openai_drafter, fake_openai, answer_openai, "/v1/chat/completions")


def test_draft_returns_every_template_section_with_cited_evidence(api):
    result = api.drafter.draft(template=SOAP, segments=SEGMENTS)

    assert [section.key for section in result.sections] == ["subjective", "objective", "assessment", "plan"]
    assert [section.statements[0].evidence for section in result.sections] == [(0,), (1,), (2,), (0,)]
    assert result.sections[0].statements[0].text == "Demo statement for subjective."
    assert result.prompt_version == PROMPT_VERSION
    assert result.model in ("claude-x", "local-llm")
    assert result.usage["input_tokens"] > 0
    assert result.usage["output_tokens"] > 0
    assert api.fake.calls(api.path) == 1


def test_model_answer_is_validated_the_same_way_by_both_drafters(api):
    api.answer(
        {
            "sections": [
                {
                    "key": "plan",
                    "statements": [{"text": " Try a wind-down routine. ", "evidence": [2, "1", 2.0, True, 2]}],
                },
                {"key": "made_up", "statements": [{"text": "Dropped.", "evidence": [0]}]},
                {"key": "subjective", "statements": [{"text": "Sleeps about four hours.", "evidence": [1]}]},
                {"key": "subjective", "statements": [{"text": "   ", "evidence": [0]}, {"text": "No evidence."}]},
            ]
        }
    )

    result = api.drafter.draft(template=SOAP, segments=SEGMENTS)

    sections = {section.key: section.statements for section in result.sections}
    assert [section.key for section in result.sections] == ["subjective", "objective", "assessment", "plan"]
    assert [(s.text, s.evidence) for s in sections["subjective"]] == [
        ("Sleeps about four hours.", (1,)),
        ("No evidence.", ()),
    ]
    assert sections["objective"] == ()
    assert sections["assessment"] == ()
    assert [(s.text, s.evidence) for s in sections["plan"]] == [("Try a wind-down routine.", (2,))]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"notes": []},
        {"sections": "none"},
        {"sections": ["plan"]},
        {"sections": [{"key": "plan", "statements": "none"}]},
        {"sections": [{"key": ["plan"], "statements": []}]},
        {"sections": [{"key": "plan", "statements": [{"text": 3, "evidence": [0]}]}]},
    ],
)
def test_unreadable_model_answer_is_a_permanent_bad_response(api, payload):
    api.answer(payload)

    with pytest.raises(ProviderError) as caught:
        api.drafter.draft(template=SOAP, segments=SEGMENTS)

    assert caught.value.code == "bad_response"
    assert caught.value.retryable is False


def test_prompt_carries_template_sections_and_numbered_transcript(api):
    api.drafter.draft(template=SOAP, segments=SEGMENTS)

    body = json.dumps(api.last_request)
    assert "[0] (00:00) clinician: How have you been sleeping?" in body
    assert "[2] (01:05) clinician: Let's try a wind-down routine." in body
    assert 'key \\"plan\\", heading \\"Plan\\": Next steps' in body
    assert "State only what the transcript supports." in body


def test_rate_limit_is_retryable_with_retry_after_and_one_request(api):
    api.fake.enqueue(Reply(429, headers={"Retry-After": "3"}))

    with pytest.raises(ProviderError) as caught:
        api.drafter.draft(template=SOAP, segments=SEGMENTS)

    assert (caught.value.code, caught.value.retryable, caught.value.retry_after) == ("rate_limited", True, 3.0)
    assert api.fake.calls(api.path) == 1


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (529, True), (400, False), (413, False)])
def test_http_failures_are_mapped_with_one_request(api, status, retryable):
    api.fake.enqueue(Reply(status))

    with pytest.raises(ProviderError) as caught:
        api.drafter.draft(template=SOAP, segments=SEGMENTS)

    assert caught.value.status == status
    assert caught.value.retryable is retryable
    assert api.fake.calls(api.path) == 1


def test_slow_model_is_a_retryable_timeout(api):
    api.fake.latency = 5.0

    with pytest.raises(ProviderError) as caught:
        api.make(timeout=0.3).draft(template=SOAP, segments=SEGMENTS)

    assert caught.value.code == "timeout"
    assert caught.value.retryable is True


def test_bad_response_never_quotes_the_model_output(api):
    api.answer({"sections": [{"key": "plan", "statements": [{"text": {"quote": PHI}}]}]})

    with pytest.raises(ProviderError) as caught:
        api.drafter.draft(template=SOAP, segments=SEGMENTS)

    assert PHI not in str(caught.value)
    assert PHI not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_anthropic_drafter_forces_the_note_tool_with_the_template_schema(fake_anthropic):
    drafter = AnthropicDrafter(api_key=fake_anthropic.api_key, base_url=fake_anthropic.base_url, model="claude-x")

    drafter.draft(template=SOAP, segments=SEGMENTS)

    body = fake_anthropic.requests[0].json
    assert body["tool_choice"]["type"] == "tool"
    assert body["tool_choice"]["name"] == TOOL_NAME
    [tool] = body["tools"]
    assert tool["name"] == TOOL_NAME
    section_schema = tool["input_schema"]["properties"]["sections"]["items"]
    assert section_schema["properties"]["key"]["enum"] == ["subjective", "objective", "assessment", "plan"]
    assert body["system"] == SYSTEM_PROMPT


def test_anthropic_drafter_accepts_the_key_as_x_api_key_or_bearer(fake_anthropic):
    drafter = AnthropicDrafter(api_key="sk-ant-wrong", base_url=fake_anthropic.base_url, model="claude-x")

    with pytest.raises(ProviderError) as caught:
        drafter.draft(template=SOAP, segments=SEGMENTS)

    assert (caught.value.code, caught.value.status, caught.value.retryable) == ("authentication_failed", 401, False)
    assert fake_anthropic.requests[0].headers["authorization"] == "Bearer sk-ant-wrong"


def message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


@pytest.mark.parametrize(
    "body",
    [
        message([{"type": "text", "text": "I cannot help with that."}], "end_turn"),
        message([{"type": "tool_use", "id": "toolu_1", "name": "other_tool", "input": {"sections": []}}], "tool_use"),
        message([{"type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": {"sections": []}}], "max_tokens"),
        {"type": "message"},
    ],
)
def test_anthropic_answer_without_a_whole_note_tool_call_is_a_bad_response(fake_anthropic, body):
    fake_anthropic.enqueue(Reply(200, body=body))
    drafter = AnthropicDrafter(api_key=fake_anthropic.api_key, base_url=fake_anthropic.base_url, model="claude-x")

    with pytest.raises(ProviderError) as caught:
        drafter.draft(template=SOAP, segments=SEGMENTS)

    assert caught.value.code == "bad_response"


def test_openai_drafter_asks_for_the_strict_json_schema(fake_openai):
    drafter = OpenAIDrafter(api_key=fake_openai.api_key, base_url=fake_openai.base_url, model="local-llm")

    drafter.draft(template=SOAP, segments=SEGMENTS)

    body = fake_openai.requests[0].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["sections"]
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}


def completion(content: str | None, finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "local-llm",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
    }


@pytest.mark.parametrize(
    "body",
    [
        completion("not json {", "stop"),
        completion('{"sections": [', "length"),
        completion(None, "stop"),
        {"object": "chat.completion", "choices": []},
    ],
)
def test_openai_answer_that_is_not_a_whole_json_note_is_a_bad_response(fake_openai, body):
    fake_openai.enqueue(Reply(200, body=body))
    drafter = OpenAIDrafter(api_key=fake_openai.api_key, base_url=fake_openai.base_url, model="local-llm")

    with pytest.raises(ProviderError) as caught:
        drafter.draft(template=SOAP, segments=SEGMENTS)

    assert caught.value.code == "bad_response"
