"""The fakes themselves: benchmarks and pipeline tests rely on their scripting, latency and records."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from jobs.providers.base import ProviderError
from jobs.providers.openai_transcriber import OpenAITranscriber
from tests.fakes import FakeAnthropic, FakeOpenAI, Reply

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built by the test
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"x-api-key": "sk-ant-test-fake"}, 200),
        ({"authorization": "Bearer sk-ant-test-fake"}, 200),
        ({"x-api-key": "sk-ant-other"}, 401),
        ({}, 401),
    ],
)
def test_fake_anthropic_accepts_the_key_in_either_header(headers, status):
    body = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "Hello"}]}
    with FakeAnthropic() as fake:
        answered, payload = post(f"{fake.base_url}/v1/messages", body, {"anthropic-version": "2023-06-01", **headers})

    assert answered == status
    assert payload["type"] == ("message" if status == 200 else "error")


def test_scripted_replies_apply_only_to_their_path(fake_openai):
    fake_openai.enqueue(Reply(500), path="/v1/chat/completions")
    transcriber = OpenAITranscriber(api_key=fake_openai.api_key, base_url=fake_openai.base_url, model="whisper-1")

    transcriber.transcribe(AUDIO / "jfk.flac")

    assert fake_openai.pending_replies == 1
    assert [r.status for r in fake_openai.requests] == [200]


def test_repeated_uploads_name_audio_transcribed_twice(fake_openai):
    transcriber = OpenAITranscriber(api_key=fake_openai.api_key, base_url=fake_openai.base_url, model="whisper-1")
    fake_openai.enqueue(Reply(503))

    for name in ("jfk.flac", "jfk.flac", "silence_10s.ogg", "jfk.flac"):
        try:
            transcriber.transcribe(AUDIO / name)
        except ProviderError:
            continue

    assert fake_openai.transcription_calls == 4
    assert fake_openai.repeated_uploads == [fake_openai.requests[1].file_sha256]


def test_latency_is_per_request_and_requests_are_served_concurrently():
    with FakeOpenAI(latency=0.6) as fake:
        transcriber = OpenAITranscriber(api_key=fake.api_key, base_url=fake.base_url, model="whisper-1")
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: transcriber.transcribe(AUDIO / "jfk.flac"), range(4)))

        assert len(results) == 4
        assert fake.max_in_flight == 4


def test_stopping_does_not_wait_for_a_slow_request():
    fake = FakeOpenAI(latency=30.0).start()
    transcriber = OpenAITranscriber(api_key=fake.api_key, base_url=fake.base_url, model="whisper-1", timeout=0.2)
    with pytest.raises(ProviderError):
        transcriber.transcribe(AUDIO / "jfk.flac")

    started = time.perf_counter()
    fake.stop()

    assert time.perf_counter() - started < 1.0
