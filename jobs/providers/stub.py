"""Deterministic stand-ins for demo mode (``AI_MODE=stub``): no network, same input, same output.

The transcript follows the audio's real duration, so chunking, stitching and timestamps behave as in live mode;
its words are a fixed demo conversation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from formats.builtin import TemplateSpec
from jobs.providers.audio_duration import measure_duration
from jobs.providers.base import (
    DraftResult,
    DraftSection,
    DraftStatement,
    Segment,
    TranscriptionResult,
)

SERVICE = "demo transcription"
SEGMENT_SECONDS = 6.0
STATEMENTS_PER_SECTION = 3

CLINICIAN_LINES = (
    "How have things been since our last session?",
    "What did you notice when that happened?",
    "How did you sleep this week?",
    "Let's look at the plan we made last time.",
    "What would you like to focus on next week?",
)
CLIENT_LINES = (
    "It has been a bit better, though work was stressful.",
    "I felt anxious, but I used the breathing exercise.",
    "Sleep was uneven, about six hours most nights.",
    "I kept the journal on most days.",
    "I would like to work on setting limits at work.",
)
SPEAKERS = ("clinician", "client")


class StubTranscriber:
    model = "stub-transcriber"

    def transcribe(
        self, path: Path, *, language: str | None = None, duration: float | None = None
    ) -> TranscriptionResult:
        if duration is None:
            duration = measure_duration(path, service=SERVICE)
        count = math.ceil(duration / SEGMENT_SECONDS) if duration > 0 else 0
        length = duration / count if count else 0.0
        segments = tuple(
            Segment(
                id=index,
                start=round(index * length, 3),
                end=round(duration if index == count - 1 else (index + 1) * length, 3),
                text=_line(index),
                speaker=SPEAKERS[index % 2],
            )
            for index in range(count)
        )
        return TranscriptionResult(
            text=" ".join(segment.text for segment in segments),
            language=language or "en",
            duration=duration,
            segments=segments,
            model=self.model,
            provider_metadata={"provider": "stub"},
        )


def _line(index: int) -> str:
    lines = CLINICIAN_LINES if index % 2 == 0 else CLIENT_LINES
    return lines[(index // 2) % len(lines)]


class StubDrafter:
    model = "stub-drafter"
    prompt_version = "stub-v1"

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        """Section n cites segments n, n + s, n + 2s, … (s sections), so every section quotes the session."""
        step = len(template.sections)
        sections = tuple(
            DraftSection(
                key=spec.key,
                statements=tuple(
                    DraftStatement(
                        text=f"The {segment.speaker or 'speaker'} said: {segment.text}", evidence=(segment.id,)
                    )
                    for segment in list(segments)[position::step][:STATEMENTS_PER_SECTION]
                ),
            )
            for position, spec in enumerate(template.sections)
        )
        return DraftResult(sections=sections, model=self.model, prompt_version=self.prompt_version, usage={})
