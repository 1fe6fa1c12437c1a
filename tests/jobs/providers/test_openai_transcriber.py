from __future__ import annotations

import hashlib
import socket
from email.utils import formatdate
from pathlib import Path

import pytest

from jobs.providers.base import ProviderError
from jobs.providers.openai_transcriber import OpenAITranscriber, ResponseMode, response_mode_for
from tests.fakes import Reply, SpokenSegment

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
JFK = AUDIO / "jfk.flac"
DIALOGUE = AUDIO / "dialogue_short.m4a"
PHI = "Jane Roe disclosed thoughts of self-harm"


def transcriber(fake, model="whisper-1", **options):
    return OpenAITranscriber(api_key=fake.api_key, base_url=fake.base_url, model=model, **options)


def test_whisper_transcription_returns_timed_segments_of_the_real_audio(fake_openai):
    result = transcriber(fake_openai).transcribe(JFK)

    assert result.duration == pytest.approx(11.0, abs=0.05)
    assert [s.id for s in result.segments] == [0, 1]
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(11.0, abs=0.05)
    assert result.segments[0].text == "Thanks for coming in today."
    assert result.segments[0].no_speech_prob == 0.01
    assert result.segments[0].avg_logprob == -0.25
    assert result.text.startswith("Thanks for coming in today. I have been")
    assert result.model == "whisper-1"
    assert result.provider_metadata["response_format"] == "verbose_json"
    assert result.provider_metadata["usage"] == {"type": "duration", "seconds": 11}


def test_whisper_request_asks_for_segment_timestamps_and_sends_the_file_under_a_neutral_name(fake_openai):
    transcriber(fake_openai).transcribe(JFK, language="en")

    [request] = fake_openai.requests
    assert request.model == "whisper-1"
    assert request.fields["response_format"] == ("verbose_json",)
    assert request.fields["timestamp_granularities"] == ("segment",)
    assert request.fields["language"] == ("en",)
    assert request.file_name == "audio.flac"
    assert request.file_sha256 == hashlib.sha256(JFK.read_bytes()).hexdigest()


def test_requested_language_is_reported_over_the_whisper_language_name(fake_openai):
    assert transcriber(fake_openai).transcribe(JFK, language="en").language == "en"
    assert transcriber(fake_openai).transcribe(JFK).language == "english"


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        ("whisper-1", ResponseMode.VERBOSE),
        ("Systran/faster-whisper-large-v3", ResponseMode.VERBOSE),
        ("gpt-4o-transcribe", ResponseMode.TEXT_ONLY),
        ("gpt-4o-mini-transcribe", ResponseMode.TEXT_ONLY),
        ("gpt-4o-transcribe-diarize", ResponseMode.DIARIZED),
    ],
)
def test_response_format_follows_the_model(model, mode):
    assert response_mode_for(model) is mode


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe"])
def test_text_only_model_gives_one_segment_spanning_the_given_duration(fake_openai, model):
    result = transcriber(fake_openai, model).transcribe(JFK, duration=42.0)

    [segment] = result.segments
    assert (segment.start, segment.end) == (0.0, 42.0)
    assert segment.text == result.text
    assert result.text.startswith("Thanks for coming in today.")
    assert result.duration == 42.0
    assert fake_openai.requests[0].fields["response_format"] == ("json",)
    assert result.provider_metadata["usage"]["type"] == "tokens"


def test_text_only_model_measures_the_audio_when_no_duration_is_given(fake_openai):
    result = transcriber(fake_openai, "gpt-4o-transcribe").transcribe(JFK)

    assert result.segments[0].end == pytest.approx(11.0, abs=0.05)


def test_text_only_model_refuses_unreadable_audio_without_a_request(fake_openai):
    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai, "gpt-4o-transcribe").transcribe(AUDIO / "bad_not_audio.webm")

    assert caught.value.code == "validation_failed"
    assert fake_openai.transcription_calls == 0


def test_diarizing_model_keeps_speaker_labels_on_long_audio(fake_openai):
    # Over 30 s the API refuses diarization without a chunking strategy: this also proves it is sent.
    result = transcriber(fake_openai, "gpt-4o-transcribe-diarize").transcribe(DIALOGUE)

    assert result.duration == pytest.approx(132.0, abs=0.1)
    assert [s.speaker for s in result.segments[:4]] == ["A", "B", "A", "B"]
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    assert result.segments[-1].end == pytest.approx(132.0, abs=0.1)
    assert fake_openai.requests[0].fields["chunking_strategy"] == ("auto",)
    assert fake_openai.requests[0].fields["response_format"] == ("diarized_json",)


def test_transcript_hook_decides_the_text(fake_openai):
    fake_openai.transcript = lambda audio: [SpokenSegment(0.0, audio.duration, f"{audio.model} heard {audio.filename}")]

    result = transcriber(fake_openai).transcribe(JFK)

    assert result.text == "whisper-1 heard audio.flac"


def test_rate_limit_is_retryable_with_the_retry_after_delay(fake_openai):
    fake_openai.enqueue(Reply(429, headers={"Retry-After": "1"}))

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(JFK)

    assert caught.value.code == "rate_limited"
    assert caught.value.retryable is True
    assert caught.value.retry_after == 1.0
    assert caught.value.status == 429
    assert caught.value.request_id is not None
    assert fake_openai.transcription_calls == 1


def test_retry_after_as_http_date_is_honoured(fake_openai):
    fake_openai.enqueue(Reply(503, headers={"Retry-After": formatdate(usegmt=True)}))

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(JFK)

    assert caught.value.retry_after is not None
    assert 0.0 <= caught.value.retry_after <= 1.0


def test_a_retry_by_the_caller_succeeds_once_the_limit_is_lifted(fake_openai):
    fake_openai.enqueue(Reply(429, headers={"Retry-After": "1"}), Reply(200))
    adapter = transcriber(fake_openai)

    with pytest.raises(ProviderError):
        adapter.transcribe(JFK)
    result = adapter.transcribe(JFK)

    assert len(result.segments) == 2
    assert fake_openai.transcription_calls == 2
    assert fake_openai.pending_replies == 0


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "validation_failed", False),
        (403, "authentication_failed", False),
        (404, "not_found", False),
        (408, "upstream_failure", True),
        (409, "upstream_failure", True),
        (413, "payload_too_large", False),
        (422, "validation_failed", False),
        (500, "upstream_failure", True),
        (502, "upstream_failure", True),
        (529, "upstream_failure", True),
    ],
)
def test_http_failures_map_to_codes_with_exactly_one_request(fake_openai, status, code, retryable):
    fake_openai.enqueue(Reply(status))

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(JFK)

    assert (caught.value.code, caught.value.retryable, caught.value.status) == (code, retryable, status)
    # The SDK retries 408, 409, 429 and 5xx by default; here the pipeline alone decides.
    assert fake_openai.transcription_calls == 1


def test_wrong_api_key_is_a_permanent_authentication_failure(fake_openai):
    adapter = OpenAITranscriber(api_key="sk-wrong", base_url=fake_openai.base_url, model="whisper-1")

    with pytest.raises(ProviderError) as caught:
        adapter.transcribe(JFK)

    assert caught.value.code == "authentication_failed"
    assert caught.value.retryable is False
    assert caught.value.status == 401


def test_upload_over_the_size_limit_is_payload_too_large(fake_openai):
    fake_openai.max_upload_bytes = 1000

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(JFK)

    assert caught.value.code == "payload_too_large"
    assert caught.value.retryable is False


def test_audio_the_api_cannot_decode_is_a_validation_failure(fake_openai):
    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(AUDIO / "bad_not_audio.webm")

    assert caught.value.code == "validation_failed"
    assert caught.value.retryable is False


def test_slow_answer_is_a_retryable_timeout(fake_openai):
    fake_openai.latency = 5.0

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai, timeout=0.3).transcribe(JFK)

    assert caught.value.code == "timeout"
    assert caught.value.retryable is True
    assert fake_openai.transcription_calls == 1


def test_refused_connection_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = OpenAITranscriber(api_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1", model="whisper-1")

    with pytest.raises(ProviderError) as caught:
        adapter.transcribe(JFK)

    assert caught.value.code == "connection_failed"
    assert caught.value.retryable is True


@pytest.mark.parametrize("body", ["plain text", {"unexpected": True}, [1, 2], {"text": "x", "duration": "long"}])
def test_answer_without_the_documented_shape_is_a_bad_response(fake_openai, body):
    fake_openai.enqueue(Reply(200, body=body))

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(JFK)

    assert caught.value.code == "bad_response"
    assert caught.value.retryable is False


def test_error_never_carries_what_the_provider_echoed_back(fake_openai):
    fake_openai.enqueue(Reply(400, body={"error": {"message": PHI, "type": "invalid_request_error"}}))

    with pytest.raises(ProviderError) as caught:
        transcriber(fake_openai).transcribe(JFK)

    error = caught.value
    assert PHI not in str(error)
    assert PHI not in repr(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ is True
