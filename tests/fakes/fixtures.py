"""Pytest fixtures that run the fake APIs and point the live providers at them.

``fake_openai`` serves transcription and chat drafting, so alone it runs a whole live pipeline;
``fake_anthropic`` adds itself as the drafting provider on top of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def fake_openai(settings: Settings) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        settings.AI_MODE = "live"
        settings.OPENAI_API_KEY = fake.api_key
        settings.OPENAI_BASE_URL = fake.base_url
        settings.DRAFTING_PROVIDER = "openai"
        settings.DRAFTING_MODEL = "gpt-4o"
        yield fake


@pytest.fixture
def fake_anthropic(settings: Settings, fake_openai: FakeOpenAI) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        settings.ANTHROPIC_API_KEY = fake.api_key
        settings.ANTHROPIC_BASE_URL = fake.base_url
        settings.DRAFTING_PROVIDER = "anthropic"
        settings.DRAFTING_MODEL = "claude-sonnet-4-6"
        yield fake
