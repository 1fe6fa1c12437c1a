"""Transcription through the OpenAI audio API, or any server that speaks it (``OPENAI_BASE_URL``).

The response format follows the model: Whisper models give timed segments with confidence figures
(``verbose_json``), the gpt-4o transcribe models give text only (``json``), and the diarizing model gives
timed segments with speaker labels (``diarized_json``).
"""

from __future__ import annotations

import enum
import mimetypes
from pathlib import Path
from typing import Any

import openai

from jobs.providers.audio_duration import measure_duration
from jobs.providers.base import Segment, TranscriptionResult, reading_response
from jobs.providers.openai_client import make_openai_client, provider_error_from_openai

SERVICE = "transcription service"

Upload = tuple[str, bytes, str]


class ResponseMode(enum.Enum):
    VERBOSE = "verbose_json"
    TEXT_ONLY = "json"
    DIARIZED = "diarized_json"


def response_mode_for(model: str) -> ResponseMode:
    """Self-hosted Whisper servers use their own model names, so anything not an OpenAI gpt transcribe model
    is asked for Whisper's verbose segments."""
    name = model.lower()
    if "diarize" in name:
        return ResponseMode.DIARIZED
    if name.startswith("gpt-") and "transcribe" in name:
        return ResponseMode.TEXT_ONLY
    return ResponseMode.VERBOSE


class OpenAITranscriber:
    def __init__(self, *, api_key: str, model: str, base_url: str | None = None, timeout: float = 600.0) -> None:
        self.model = model
        self.mode = response_mode_for(model)
        self._client = make_openai_client(api_key=api_key, base_url=base_url, timeout=timeout)

    def transcribe(
        self, path: Path, *, language: str | None = None, duration: float | None = None
    ) -> TranscriptionResult:
        if self.mode is ResponseMode.TEXT_ONLY and duration is None:
            # Measured before the upload: an unreadable file is refused without a paid request.
            duration = measure_duration(path, service=SERVICE)
        # A neutral file name: the API needs the extension to identify the format, never the upload's name.
        upload = (f"audio{path.suffix.lower()}", path.read_bytes(), _content_type(path))
        options: dict[str, Any] = {"language": language} if language else {}
        try:
            if self.mode is ResponseMode.VERBOSE:
                return self._verbose(upload, options, language)
            if self.mode is ResponseMode.DIARIZED:
                return self._diarized(upload, options, language)
            return self._text_only(upload, options, language, duration or 0.0)
        except openai.OpenAIError as error:
            raise provider_error_from_openai(error, service=SERVICE) from None

    def _verbose(self, upload: Upload, options: dict[str, Any], language: str | None) -> TranscriptionResult:
        response = self._client.audio.transcriptions.create(
            file=upload,
            model=self.model,
            response_format="verbose_json",
            timestamp_granularities=["segment"],
            **options,
        )
        with reading_response(service=SERVICE):
            # Self-hosted Whisper servers may leave out the confidence figures; they are optional here.
            segments = tuple(
                Segment(
                    id=index,
                    start=float(item.start),
                    end=float(item.end),
                    text=item.text.strip(),
                    no_speech_prob=_optional_float(getattr(item, "no_speech_prob", None)),
                    avg_logprob=_optional_float(getattr(item, "avg_logprob", None)),
                )
                for index, item in enumerate(response.segments or ())
            )
            return TranscriptionResult(
                text=response.text.strip(),
                language=language or response.language or None,
                duration=float(response.duration),
                segments=segments,
                model=self.model,
                provider_metadata=self._metadata(response.usage),
            )

    def _diarized(self, upload: Upload, options: dict[str, Any], language: str | None) -> TranscriptionResult:
        response = self._client.audio.transcriptions.create(
            file=upload, model=self.model, response_format="diarized_json", chunking_strategy="auto", **options
        )
        with reading_response(service=SERVICE):
            segments = tuple(
                Segment(
                    id=index,
                    start=float(item.start),
                    end=float(item.end),
                    text=item.text.strip(),
                    speaker=str(item.speaker) if item.speaker is not None else None,
                )
                for index, item in enumerate(response.segments)
            )
            return TranscriptionResult(
                text=response.text.strip(),
                language=language,
                duration=float(response.duration),
                segments=segments,
                model=self.model,
                provider_metadata=self._metadata(response.usage),
            )

    def _text_only(
        self, upload: Upload, options: dict[str, Any], language: str | None, duration: float
    ) -> TranscriptionResult:
        response = self._client.audio.transcriptions.create(
            file=upload, model=self.model, response_format="json", **options
        )
        with reading_response(service=SERVICE):
            text = response.text.strip()
            # No timestamps from these models: the whole file is one segment, for citations to point at.
            segments = (Segment(id=0, start=0.0, end=duration, text=text),) if text else ()
            return TranscriptionResult(
                text=text,
                language=language,
                duration=duration,
                segments=segments,
                model=self.model,
                provider_metadata=self._metadata(response.usage),
            )

    def _metadata(self, usage: object) -> dict[str, Any]:
        metadata: dict[str, Any] = {"provider": "openai", "response_format": self.mode.value}
        if isinstance(usage, openai.BaseModel):
            metadata["usage"] = usage.model_dump(mode="json", exclude_none=True)
        return metadata


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)


def _content_type(path: Path) -> str:
    content_type, _ = mimetypes.guess_type(f"audio{path.suffix.lower()}")
    return content_type or "application/octet-stream"
