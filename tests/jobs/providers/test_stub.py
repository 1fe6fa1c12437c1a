from __future__ import annotations

from pathlib import Path

import pytest

from formats.builtin import BUILTIN_TEMPLATES
from jobs.providers.base import ProviderError
from jobs.providers.stub import StubDrafter, StubTranscriber

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


def test_stub_transcript_follows_the_audio_duration():
    result = StubTranscriber().transcribe(AUDIO / "dialogue_short.webm")

    assert result.duration == pytest.approx(131.97, abs=0.05)
    assert len(result.segments) == 22
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(result.duration, abs=0.001)
    assert all(a.end == b.start for a, b in zip(result.segments, result.segments[1:], strict=False))
    assert all(5.0 <= s.end - s.start <= 6.0 for s in result.segments)


def test_stub_transcript_alternates_clinician_and_client():
    result = StubTranscriber().transcribe(AUDIO / "jfk.flac")

    assert [s.speaker for s in result.segments] == ["clinician", "client"]
    assert [s.id for s in result.segments] == [0, 1]
    assert result.text == " ".join(s.text for s in result.segments)


def test_stub_transcript_is_deterministic():
    first = StubTranscriber().transcribe(AUDIO / "dialogue_short.mp3", language="en")
    second = StubTranscriber().transcribe(AUDIO / "dialogue_short.mp3", language="en")

    assert first == second
    assert first.language == "en"


def test_stub_transcriber_uses_a_given_duration():
    result = StubTranscriber().transcribe(AUDIO / "jfk.flac", duration=30.0)

    assert len(result.segments) == 5
    assert result.segments[-1].end == 30.0


def test_stub_transcriber_refuses_what_is_not_audio():
    with pytest.raises(ProviderError) as caught:
        StubTranscriber().transcribe(AUDIO / "bad_not_audio.webm")

    assert caught.value.code == "validation_failed"
    assert caught.value.retryable is False


def test_stub_draft_cites_transcript_segments_in_every_section():
    transcript = StubTranscriber().transcribe(AUDIO / "dialogue_short.webm")
    template = BUILTIN_TEMPLATES["soap"]

    result = StubDrafter().draft(template=template, segments=transcript.segments)

    assert [section.key for section in result.sections] == [spec.key for spec in template.sections]
    subjective = result.sections[0].statements
    assert [statement.evidence for statement in subjective] == [(0,), (4,), (8,)]
    assert subjective[0].text == f"The clinician said: {transcript.segments[0].text}"
    assert result == StubDrafter().draft(template=template, segments=transcript.segments)


def test_stub_draft_of_an_empty_transcript_has_empty_sections():
    result = StubDrafter().draft(template=BUILTIN_TEMPLATES["dap"], segments=[])

    assert [(section.key, section.statements) for section in result.sections] == [
        ("data", ()),
        ("assessment", ()),
        ("plan", ()),
    ]
