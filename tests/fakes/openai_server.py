"""A loopback fake of the OpenAI API: ``POST /v1/audio/transcriptions`` and ``POST /v1/chat/completions``.

Answers have the real shapes (``json``, ``verbose_json``, ``diarized_json``, ``text``; ``chat.completion``) and
the real refusals: formats a model does not support, diarization over 30 s without a chunking strategy,
uploads over 25 MB, undecodable audio, a wrong API key.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.drafting import default_draft, prompt_text
from tests.fakes.server import Answer, FakeAPIServer, Incoming
from tests.fakes.speech import SpokenSegment, UndecodableAudio, audio_duration, demo_segments

TRANSCRIPTIONS = "/v1/audio/transcriptions"
CHAT_COMPLETIONS = "/v1/chat/completions"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
DIARIZE_WITHOUT_CHUNKING_MAX_SECONDS = 30.0


@dataclass(frozen=True)
class UploadedAudio:
    """What a transcript hook gets: the upload, its form fields and its decoded duration."""

    data: bytes
    filename: str
    model: str
    fields: Mapping[str, tuple[str, ...]]
    duration: float


TranscriptHook = Callable[[UploadedAudio], Sequence[SpokenSegment]]
ChatHook = Callable[[dict[str, Any]], str]


def default_transcript(audio: UploadedAudio) -> Sequence[SpokenSegment]:
    return demo_segments(audio.duration)


def default_chat(request: dict[str, Any]) -> str:
    """A JSON answer to the request's ``json_schema`` response format, citing segments from the prompt."""
    response_format = request.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    return json.dumps(default_draft(schema, prompt_text(request.get("messages"))))


class FakeOpenAI(FakeAPIServer):
    def __init__(
        self,
        *,
        api_key: str = "sk-test-fake-openai",
        latency: float = 0.0,
        latency_per_audio_second: float = 0.0,
        transcript: TranscriptHook = default_transcript,
        chat: ChatHook = default_chat,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ) -> None:
        super().__init__(api_key=api_key, latency=latency)
        # A transcription takes ``latency`` plus this much per second of the audio sent, as real ones grow with it.
        self.latency_per_audio_second = latency_per_audio_second
        self.transcript = transcript
        self.chat = chat
        self.max_upload_bytes = max_upload_bytes
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def transcription_calls(self) -> int:
        return self.calls(TRANSCRIPTIONS)

    @property
    def chat_calls(self) -> int:
        return self.calls(CHAT_COMPLETIONS)

    @property
    def repeated_uploads(self) -> list[str]:
        """sha256 of every audio file transcribed successfully more than once: repeated, paid work."""
        done = Counter(r.file_sha256 for r in self.requests if r.path == TRANSCRIPTIONS and r.status == 200)
        return sorted(sha for sha, count in done.items() if sha is not None and count > 1)

    def is_authorized(self, headers: Mapping[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.api_key}"

    def error_body(self, status: int, message: str) -> object:
        kind = {401: "invalid_request_error", 429: "requests"}.get(status, "invalid_request_error")
        if status >= 500:
            kind = "server_error"
        code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def answer(self, request: Incoming) -> Answer:
        if request.method == "POST" and request.path == TRANSCRIPTIONS:
            return self._transcribe(request)
        if request.method == "POST" and request.path == CHAT_COMPLETIONS:
            return self._complete(request)
        return self.error(404, f"Invalid URL ({request.method} {request.path})")

    def _invalid(self, message: str, param: str) -> Answer:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
        return 400, body, {}

    def _transcribe(self, request: Incoming) -> Answer:
        upload = next((f for f in request.files if f.field == "file"), None)
        model = request.field("model")
        if upload is None:
            return self._invalid("you must provide a file", "file")
        if not model:
            return self._invalid("you must provide a model parameter", "model")
        if len(upload.data) > self.max_upload_bytes:
            return self.error(413, f"Maximum content size limit ({self.max_upload_bytes}) exceeded.")
        response_format = request.field("response_format") or "json"
        allowed = _formats_for(model)
        if response_format not in allowed:
            return self._invalid(
                f"response_format '{response_format}' is not compatible with model '{model}'. "
                f"Use {' or '.join(repr(f) for f in allowed)} instead.",
                "response_format",
            )
        try:
            duration = audio_duration(upload.data)
        except UndecodableAudio:
            return self._invalid("Audio file might be corrupted or unsupported", "file")
        diarizing = "diarize" in model
        if diarizing and duration > DIARIZE_WITHOUT_CHUNKING_MAX_SECONDS and not request.field("chunking_strategy"):
            return self._invalid(
                "chunking_strategy is required for diarization models when input audio is longer than 30s",
                "chunking_strategy",
            )
        audio = UploadedAudio(upload.data, upload.filename, model, request.fields, duration)
        segments = list(self.transcript(audio))
        if self.latency_per_audio_second:
            self.wait_until(request.received_at + self.latency + self.latency_per_audio_second * duration)
        text = " ".join(segment.text for segment in segments)
        if response_format == "text":
            return 200, text + "\n", {}
        if response_format == "verbose_json":
            return 200, _verbose(segments, text, duration), {}
        usage = _token_usage(duration, text) if model.startswith("gpt-") else _duration_usage(duration)
        if response_format == "diarized_json":
            return 200, _diarized(segments, text, duration, usage), {}
        return 200, {"text": text, "usage": usage}, {}

    def _complete(self, request: Incoming) -> Answer:
        body = request.json
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return self._invalid("'model' and 'messages' are required", "messages")
        content = self.chat(body)
        prompt_tokens = len(prompt_text(body["messages"])) // 4
        completion_tokens = len(content) // 4
        return (
            200,
            {
                "id": f"chatcmpl-fake{next(self._ids):06d}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            },
            {},
        )


def _formats_for(model: str) -> tuple[str, ...]:
    if "diarize" in model:
        return ("json", "text", "diarized_json")
    if model.startswith("gpt-"):
        return ("json", "text")
    return ("json", "text", "verbose_json")


def _verbose(segments: list[SpokenSegment], text: str, duration: float) -> dict[str, Any]:
    return {
        "task": "transcribe",
        "language": "english",
        "duration": duration,
        "text": text,
        "segments": [
            {
                "id": index,
                "seek": int(segment.start * 100),
                "start": segment.start,
                "end": segment.end,
                # Whisper's segment text starts with the space that separated it from the previous one.
                "text": f" {segment.text}",
                "tokens": [50364 + n for n in range(len(segment.text.split()))],
                "temperature": 0.0,
                "avg_logprob": -0.25,
                "compression_ratio": 1.2,
                "no_speech_prob": 0.01,
            }
            for index, segment in enumerate(segments)
        ],
        "usage": _duration_usage(duration),
    }


def _diarized(segments: list[SpokenSegment], text: str, duration: float, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": "transcribe",
        "duration": duration,
        "text": text,
        "segments": [
            {
                "type": "transcript.text.segment",
                "id": f"seg_{index}",
                "start": segment.start,
                "end": segment.end,
                "text": segment.text,
                "speaker": segment.speaker,
            }
            for index, segment in enumerate(segments)
        ],
        "usage": usage,
    }


def _duration_usage(duration: float) -> dict[str, Any]:
    return {"type": "duration", "seconds": max(round(duration), 1)}


def _token_usage(duration: float, text: str) -> dict[str, Any]:
    audio_tokens = max(int(duration * 10), 1)
    output_tokens = max(len(text) // 4, 1)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        "output_tokens": output_tokens,
        "total_tokens": audio_tokens + output_tokens,
    }
