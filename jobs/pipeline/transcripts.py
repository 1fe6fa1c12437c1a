"""Between provider results and the session's transcript: their JSON artifacts, segment rows, and the .txt and
.srt renderings. The Transcript row itself is written by ``sessions.transcripts``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from jobs.providers.base import Segment, TranscriptionResult
from sessions.models import Transcript


def result_to_json(result: TranscriptionResult) -> bytes:
    return json.dumps(dataclasses.asdict(result), ensure_ascii=False).encode()


def result_from_json(data: bytes) -> TranscriptionResult:
    raw = json.loads(data)
    segments = tuple(Segment(**segment) for segment in raw.pop("segments"))
    return TranscriptionResult(segments=segments, **raw)


def segment_dicts(segments: Sequence[Segment]) -> list[dict[str, Any]]:
    return [
        {"id": s.id, "start": round(s.start, 3), "end": round(s.end, 3), "speaker": s.speaker, "text": s.text.strip()}
        for s in segments
    ]


def segments_from_transcript(transcript: Transcript) -> list[Segment]:
    return [
        Segment(
            id=int(s["id"]), start=float(s["start"]), end=float(s["end"]), text=str(s["text"]), speaker=s.get("speaker")
        )
        for s in transcript.segments
    ]


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def transcript_to_txt(segments: Sequence[dict[str, Any]]) -> bytes:
    lines = []
    for segment in segments:
        speaker = f"{segment['speaker']}: " if segment.get("speaker") else ""
        lines.append(f"[{_timestamp(segment['start'], '.')[:8]}] {speaker}{segment['text']}")
    return ("\n".join(lines) + "\n").encode()


def transcript_to_srt(segments: Sequence[dict[str, Any]]) -> bytes:
    blocks = []
    for number, segment in enumerate(segments, start=1):
        start, end = _timestamp(segment["start"], ","), _timestamp(segment["end"], ",")
        speaker = f"{segment['speaker']}: " if segment.get("speaker") else ""
        blocks.append(f"{number}\n{start} --> {end}\n{speaker}{segment['text']}\n")
    return "\n".join(blocks).encode()
