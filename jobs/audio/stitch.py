"""One transcript from many chunks: segments moved to the recording's clock, seams resolved, ids renumbered.

Neighbouring chunks overlap by a few seconds, so speech near a seam is heard twice, each time with a little less
context on one side. Each overlap is split at its midpoint: a segment belongs to the chunk in whose half of the
overlap its own midpoint lies. The same utterance heard by both chunks has (nearly) the same midpoint in both, so
exactly one copy survives; an utterance that ends before the midpoint is kept from the earlier chunk only, one that
starts after it from the later chunk only.

Filter Whisper's doubtful segments (``filter_segments``) per chunk before stitching or on the result; stitching
renumbers ids 0..n-1 in time order either way, which is what notes cite as evidence.

Speaker labels are kept as the provider returned them. A diarizing model names speakers per request ("A", "B"),
so the same person may carry different labels in different chunks.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jobs.audio.plan import ChunkPlan
from jobs.providers.base import Segment

# Whisper's own thresholds (openai-whisper ``transcribe()`` defaults, used as-is by most Whisper front ends): it
# treats a 30 s window as silence when the no-speech token is likely *and* the decoded text is improbable. Either
# alone drops real speech: quiet or accented talk has a high no-speech probability, and unusual words (drug
# names, proper names) a low log probability; together they single out text made up over silence or noise.
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0


@dataclass(frozen=True)
class ChunkTranscript:
    """The segments a provider returned for one chunk, timestamps relative to the chunk's start."""

    chunk: ChunkPlan
    segments: Sequence[Segment]


def stitch_chunks(results: Iterable[ChunkTranscript]) -> list[Segment]:
    """Merge per-chunk segments into one time-ordered list on the recording's clock, ids renumbered from 0.

    Chunks left out (digital silence is not sent) leave no seam: their neighbours keep all their segments.
    """
    ordered = sorted(results, key=lambda result: (result.chunk.start, result.chunk.index))
    seams = [_seam(before.chunk, after.chunk) for before, after in itertools.pairwise(ordered)]
    merged: list[Segment] = []
    for position, result in enumerate(ordered):
        low = seams[position - 1] if position > 0 else -math.inf
        high = seams[position] if position < len(seams) else math.inf
        for segment in result.segments:
            placed = _to_global(segment, result.chunk)
            if low <= (placed.start + placed.end) / 2 < high:
                merged.append(placed)
    merged.sort(key=lambda segment: (segment.start, segment.end))
    return [dataclasses.replace(segment, id=number) for number, segment in enumerate(merged)]


def filter_segments(
    segments: Iterable[Segment],
    *,
    no_speech_threshold: float = NO_SPEECH_THRESHOLD,
    logprob_threshold: float = LOGPROB_THRESHOLD,
) -> list[Segment]:
    """Drop segments with no text, and those Whisper itself would have judged silence (see the thresholds above).

    Segments from models that report neither score (the gpt-4o transcribe family) are kept unless empty. Ids are
    left as they are.
    """
    return [
        segment
        for segment in segments
        if segment.text.strip()
        and not (
            segment.no_speech_prob is not None
            and segment.avg_logprob is not None
            and segment.no_speech_prob > no_speech_threshold
            and segment.avg_logprob < logprob_threshold
        )
    ]


def _seam(before: ChunkPlan, after: ChunkPlan) -> float:
    """The midpoint of two chunks' overlap. Where they do not overlap (the chunk between them was left out) it is
    the point between them, and since segments are bounded by their chunk it splits nothing."""
    return (before.end + after.start) / 2


def _to_global(segment: Segment, chunk: ChunkPlan) -> Segment:
    # A model may place the last words a little past the end of the audio it was given; the chunk bounds them.
    start = min(max(chunk.start + segment.start, chunk.start), chunk.end)
    end = min(max(chunk.start + segment.end, start), chunk.end)
    return dataclasses.replace(segment, start=round(start, 3), end=round(end, 3))
