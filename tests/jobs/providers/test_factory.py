from __future__ import annotations

from pathlib import Path

import pytest

from formats.builtin import BUILTIN_TEMPLATES
from jobs.providers import ProviderError, get_drafter, get_transcriber
from jobs.providers.anthropic_drafter import AnthropicDrafter
from jobs.providers.openai_drafter import OpenAIDrafter
from jobs.providers.openai_transcriber import OpenAITranscriber, ResponseMode
from jobs.providers.stub import StubDrafter, StubTranscriber

JFK = Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "jfk.flac"


def _unwrapped(provider):
    """The provider inside the metrics wrapper every factory answer comes in (jobs.providers.measured)."""
    return getattr(provider, "inner", provider)


def test_stub_mode_gives_the_deterministic_stand_ins(settings):
    settings.AI_MODE = "stub"

    assert isinstance(_unwrapped(get_transcriber()), StubTranscriber)
    assert isinstance(_unwrapped(get_drafter()), StubDrafter)


@pytest.mark.parametrize("get_provider", [get_transcriber, get_drafter])
def test_off_mode_refuses_with_ai_disabled(settings, get_provider):
    settings.AI_MODE = "off"

    with pytest.raises(ProviderError) as caught:
        get_provider()

    assert caught.value.code == "ai_disabled"
    assert caught.value.retryable is False


def test_live_mode_uses_the_configured_transcription_model(settings):
    settings.AI_MODE = "live"
    settings.OPENAI_API_KEY = "sk-test"
    settings.TRANSCRIPTION_MODEL = "gpt-4o-transcribe-diarize"

    transcriber = _unwrapped(get_transcriber())

    assert isinstance(transcriber, OpenAITranscriber)
    assert transcriber.model == "gpt-4o-transcribe-diarize"
    assert transcriber.mode is ResponseMode.DIARIZED


@pytest.mark.parametrize(("provider", "drafter_class"), [("anthropic", AnthropicDrafter), ("openai", OpenAIDrafter)])
def test_live_mode_uses_the_configured_drafting_provider(settings, provider, drafter_class):
    settings.AI_MODE = "live"
    settings.OPENAI_API_KEY = "sk-test"
    settings.ANTHROPIC_API_KEY = "sk-ant-test"
    settings.DRAFTING_PROVIDER = provider
    settings.DRAFTING_MODEL = "some-model"

    drafter = _unwrapped(get_drafter())

    assert isinstance(drafter, drafter_class)
    assert drafter.model == "some-model"


def test_fake_openai_fixture_runs_the_live_providers_against_it(fake_openai):
    transcript = get_transcriber().transcribe(JFK)
    draft = get_drafter().draft(template=BUILTIN_TEMPLATES["soap"], segments=transcript.segments)

    assert fake_openai.transcription_calls == 1
    assert fake_openai.chat_calls == 1
    assert draft.sections[0].statements[0].evidence == (0,)


def test_fake_anthropic_fixture_drafts_through_the_messages_api(fake_anthropic, fake_openai):
    transcript = get_transcriber().transcribe(JFK)
    get_drafter().draft(template=BUILTIN_TEMPLATES["soap"], segments=transcript.segments)

    assert fake_anthropic.message_calls == 1
    assert fake_openai.chat_calls == 0
