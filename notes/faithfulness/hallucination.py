"""Speech-to-text hallucinations: the stock phrases Whisper-like models write over silence.

Trained on subtitled video, these models fill a quiet stretch with "Thank you for watching" or "Subtitles by
the Amara.org community". A segment is dropped only when both hold: its text is such a phrase, and its audio
is near-silent (the caller says so per segment, or passes the provider's ``no_speech_prob``). A patient who
really says "thank you" is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

# Normalised (lower case, letters, digits and single spaces). A segment whose text is one of these, or holds
# one and little else, is a candidate.
HALLUCINATION_PHRASES: tuple[str, ...] = (
    "thank you for watching",
    "thanks for watching",
    "thank you so much for watching",
    "thank you very much for watching",
    "thank you for watching and please subscribe",
    "please subscribe",
    "please subscribe to my channel",
    "please like and subscribe",
    "like and subscribe",
    "dont forget to like and subscribe",
    "subscribe to my channel",
    "subtitles by the amara org community",
    "subtitles by the amaraorg community",
    "subtitles by",
    "subtitles made by the community of amara org",
    "transcription by castingwords",
    "transcribed by",
    "captions by",
    "closed captioning by",
    "translated by",
    "thank you",
    "thanks",
    "bye",
    "bye bye",
    "see you next time",
    "see you in the next video",
    "ill see you in the next video",
    "you",
    "music",
    "applause",
    "silence",
    "www mooji org",
    "copyright",
    "all rights reserved",
)
_NORMALISED = frozenset(HALLUCINATION_PHRASES)
_LONG_PHRASES = tuple(phrase for phrase in HALLUCINATION_PHRASES if len(phrase.split()) >= 3)

DEFAULT_NO_SPEECH_THRESHOLD = 0.6

SegmentT = TypeVar("SegmentT")


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def is_hallucination_phrase(text: str) -> bool:
    """Whether a segment's text is a stock phrase (allowing a little around a long one)."""
    words = normalise(text)
    if not words:
        return False
    if words in _NORMALISED:
        return True
    return any(phrase in words and len(phrase) >= 0.6 * len(words) for phrase in _LONG_PHRASES)


def _field(segment: object, name: str) -> Any:
    if isinstance(segment, Mapping):
        return segment.get(name)
    return getattr(segment, name, None)


def drop_hallucinated_segments(
    segments: Sequence[SegmentT],
    *,
    silent: Sequence[bool] | None = None,
    no_speech_threshold: float = DEFAULT_NO_SPEECH_THRESHOLD,
) -> tuple[list[SegmentT], int]:
    """The segments to keep and how many were dropped.

    A segment (a mapping or an object with ``text``) is dropped when its text is a stock hallucination phrase
    and its audio is near-silent: ``silent[i]`` is true, or, when ``silent`` is not given, the segment's own
    ``silent`` field is true or its ``no_speech_prob`` is at least ``no_speech_threshold``. A segment with no
    silence information is always kept.
    """
    if silent is not None and len(silent) != len(segments):
        raise ValueError("silent must have one flag per segment.")
    kept: list[SegmentT] = []
    dropped = 0
    for position, segment in enumerate(segments):
        if silent is not None:
            quiet = bool(silent[position])
        else:
            flag = _field(segment, "silent")
            probability = _field(segment, "no_speech_prob")
            quiet = bool(flag) or (
                isinstance(probability, int | float)
                and not isinstance(probability, bool)
                and probability >= no_speech_threshold
            )
        text = _field(segment, "text")
        if quiet and isinstance(text, str) and is_hallucination_phrase(text):
            dropped += 1
            continue
        kept.append(segment)
    return kept, dropped
