"""How a recording is cut for the transcription provider: which files go as they are, and where the chunks fall.

Pure functions, no I/O. Times are seconds on the recording's own clock (the one ``sessions.media.probe`` reports).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# OpenAI documents "25 MB" per transcription request; read as decimal megabytes, the stricter of the two readings.
OPENAI_MAX_UPLOAD_BYTES = 25_000_000
# The gpt-4o transcribe models refuse audio longer than this (their error names the figure); whisper-1 has no such cap.
OPENAI_GPT4O_MAX_SECONDS = 1400.0
# Bytes per second vary along a VBR recording and the container adds a little around each packet; seconds vary by
# up to a packet where a stream-copy cut lands. Ten percent covers both without producing many more chunks.
DEFAULT_SAFETY_MARGIN = 0.10
DEFAULT_OVERLAP_SECONDS = 5.0


@dataclass(frozen=True)
class ProviderLimits:
    """What one transcription request may carry, as published; ``usable_*`` is what the planner aims for."""

    max_bytes: int
    max_seconds: float | None = None
    safety_margin: float = DEFAULT_SAFETY_MARGIN

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        if not 0 <= self.safety_margin < 1:
            raise ValueError("safety_margin must be in [0, 1)")

    @property
    def usable_bytes(self) -> int:
        return math.floor(self.max_bytes * (1 - self.safety_margin))

    @property
    def usable_seconds(self) -> float | None:
        return None if self.max_seconds is None else self.max_seconds * (1 - self.safety_margin)


WHISPER_LIMITS = ProviderLimits(max_bytes=OPENAI_MAX_UPLOAD_BYTES)
GPT4O_TRANSCRIBE_LIMITS = ProviderLimits(max_bytes=OPENAI_MAX_UPLOAD_BYTES, max_seconds=OPENAI_GPT4O_MAX_SECONDS)

MODEL_LIMITS: dict[str, ProviderLimits] = {
    "whisper-1": WHISPER_LIMITS,
    "gpt-4o-transcribe": GPT4O_TRANSCRIBE_LIMITS,
    "gpt-4o-mini-transcribe": GPT4O_TRANSCRIBE_LIMITS,
    "gpt-4o-transcribe-diarize": GPT4O_TRANSCRIBE_LIMITS,
}
# A model we do not know (a dated snapshot aside) may sit behind a self-hosted compatible server: assume the strictest
# published limits, since a few more chunks cost little and a refused request costs a retry.
UNKNOWN_MODEL_LIMITS = GPT4O_TRANSCRIBE_LIMITS


def limits_for_model(model: str) -> ProviderLimits:
    """Limits for ``model``; dated snapshots (``gpt-4o-mini-transcribe-2025-03-20``) share their family's limits."""
    if model in MODEL_LIMITS:
        return MODEL_LIMITS[model]
    family = max((name for name in MODEL_LIMITS if model.startswith(f"{name}-")), key=len, default=None)
    return MODEL_LIMITS[family] if family is not None else UNKNOWN_MODEL_LIMITS


@dataclass(frozen=True)
class CopyTarget:
    """Where a stream-copied cut goes: the FFmpeg muxer and the file suffix the provider recognises."""

    muxer: str
    suffix: str


MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"
MATROSKA_DEMUXER = "matroska,webm"

# (container as FFmpeg's demuxer names it, codec) pairs that are cut by stream copy and sent as they are. The
# provider takes flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav and webm files; the audio track of an mp4 video
# is copied alone into an .m4a. Deliberately absent, so transcoded once to Ogg/Opus instead:
# - PCM in WAV: accepted, but uncompressed; 2 hours would be ~50 requests and >1 GB of upload against one
#   transcode at a few hundred times real time and ~20 MB.
# - codecs the muxer of their container kind cannot carry or the provider does not list (AAC in Matroska or raw
#   ADTS, ALAC, MP2, AMR, ...).
STREAM_COPY_TARGETS: dict[tuple[str, str], CopyTarget] = {
    (MATROSKA_DEMUXER, "opus"): CopyTarget("webm", ".webm"),
    (MATROSKA_DEMUXER, "vorbis"): CopyTarget("webm", ".webm"),
    ("ogg", "opus"): CopyTarget("ogg", ".ogg"),
    ("ogg", "vorbis"): CopyTarget("ogg", ".ogg"),
    ("mp3", "mp3"): CopyTarget("mp3", ".mp3"),
    ("flac", "flac"): CopyTarget("flac", ".flac"),
    (MP4_DEMUXER, "aac"): CopyTarget("ipod", ".m4a"),
}


def stream_copy_target(container: str, codec: str) -> CopyTarget | None:
    """The muxer and suffix for stream-copied cuts of this audio, or ``None`` when it must be transcoded."""
    return STREAM_COPY_TARGETS.get((container, codec))


def provider_accepts(container: str, codec: str) -> bool:
    """True when cuts of this audio, stream-copied into their own container kind, can be sent as they are."""
    return stream_copy_target(container, codec) is not None


@dataclass(frozen=True)
class ChunkPlan:
    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def max_chunk_seconds(*, bytes_per_second: float, limits: ProviderLimits) -> float:
    """The longest chunk that stays within both the byte and the duration limit."""
    if bytes_per_second <= 0:
        raise ValueError("bytes_per_second must be positive")
    by_bytes = limits.usable_bytes / bytes_per_second
    usable_seconds = limits.usable_seconds
    return by_bytes if usable_seconds is None else min(by_bytes, usable_seconds)


def plan_chunks(
    duration: float,
    *,
    bytes_per_second: float,
    limits: ProviderLimits,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    concurrency: int = 1,
    min_chunk_seconds: float = 0.0,
) -> list[ChunkPlan]:
    """Chunks covering ``[0, duration]``, each within ``limits``, neighbours overlapping by ``overlap_seconds``.

    As many chunks as ``concurrency`` requests can carry at once, so that a long recording is transcribed in the
    time of its ``concurrency``-th part, but none shorter than ``min_chunk_seconds`` (a chunk gives the model its
    context, and each request costs a fixed latency); more only when the limits need them. One request at a time
    gets the fewest chunks the limits allow.

    Chunks are of equal length rather than full ones followed by a short remainder: a last chunk of a few seconds
    gives the model no context and is where it invents text. Only neighbours overlap, so each seam is resolved
    between two chunks.
    """
    if not math.isfinite(duration) or duration <= 0:
        raise ValueError("duration must be a positive number of seconds")
    if overlap_seconds < 0:
        raise ValueError("overlap_seconds must not be negative")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    longest = max_chunk_seconds(bytes_per_second=bytes_per_second, limits=limits)
    count = max(
        _chunks_needed(duration, longest, overlap_seconds),
        _chunks_wanted(duration, longest, overlap_seconds, concurrency, min_chunk_seconds),
    )
    if count == 1:
        return [ChunkPlan(index=0, start=0.0, end=duration)]
    stride = (duration - overlap_seconds) / count
    length = stride + overlap_seconds
    chunks = [ChunkPlan(index=i, start=i * stride, end=i * stride + length) for i in range(count - 1)]
    chunks.append(ChunkPlan(index=count - 1, start=(count - 1) * stride, end=duration))
    return chunks


def _chunks_needed(duration: float, longest: float, overlap: float) -> int:
    """The fewest equal chunks within ``longest`` seconds that cover ``duration``."""
    if duration <= longest:
        return 1
    # Equal chunks shorter than a third of the longest could overlap beyond their neighbours.
    if longest < 4 * overlap:
        raise ValueError(f"chunks of at most {longest:.1f} s cannot overlap by {overlap:.1f} s; lower the overlap")
    return math.ceil((duration - overlap) / (longest - overlap))


def _chunks_wanted(duration: float, longest: float, overlap: float, concurrency: int, minimum: float) -> int:
    """Up to ``concurrency`` chunks, as long as each lasts at least ``minimum`` seconds (and four overlaps, so that
    only neighbours overlap), or the longest allowed when that is shorter."""
    if concurrency == 1:
        return 1
    shortest = min(max(minimum, 4 * overlap), longest)
    if shortest <= overlap:
        return concurrency
    return max(1, min(concurrency, math.floor((duration - overlap) / (shortest - overlap))))


def seam_room(chunks: Sequence[ChunkPlan], *, longest: float, shortest: float) -> float:
    """How far each seam between ``chunks`` (equal ones, from ``plan_chunks``) may move, either way, with every
    chunk staying within ``[shortest, longest]`` seconds even when both of its seams move."""
    if len(chunks) < 2:
        return 0.0
    # The first chunk is as long as the middle ones; the last one may be shorter by rounding only.
    length = chunks[0].duration
    return max(0.0, min(longest - length, length - shortest) / 2)


def seam_centre(before: ChunkPlan, after: ChunkPlan) -> float:
    """The middle of two neighbours' overlap, where the stitcher splits their segments."""
    return (before.end + after.start) / 2


def move_seams(chunks: Sequence[ChunkPlan], centres: Sequence[float], *, overlap_seconds: float) -> list[ChunkPlan]:
    """``chunks`` with the overlap of each pair of neighbours centred on ``centres[i]`` instead, bounds rounded to
    the millisecond; the first chunk still starts at 0 and the last still ends at the recording's end."""
    if len(centres) != len(chunks) - 1:
        raise ValueError("one centre per seam")
    half = overlap_seconds / 2
    moved = []
    for position, chunk in enumerate(chunks):
        start = chunk.start if position == 0 else round(centres[position - 1] - half, 3)
        end = chunk.end if position == len(chunks) - 1 else round(centres[position] + half, 3)
        moved.append(ChunkPlan(index=chunk.index, start=max(start, 0.0), end=end))
    return moved
