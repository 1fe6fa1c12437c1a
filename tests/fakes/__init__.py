"""Loopback fakes of the HTTP APIs the providers call, so that tests and benchmarks exercise the real SDKs."""

from __future__ import annotations

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI, UploadedAudio
from tests.fakes.server import ReceivedRequest, Reply
from tests.fakes.speech import SpokenSegment, demo_segments

__all__ = [
    "FakeAnthropic",
    "FakeOpenAI",
    "ReceivedRequest",
    "Reply",
    "SpokenSegment",
    "UploadedAudio",
    "demo_segments",
]
