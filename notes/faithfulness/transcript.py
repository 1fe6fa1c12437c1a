"""Transcripts in, read once: segments from text or JSON, and an index every detector shares.

A transcript arrives as the API's JSON (``{"segments": [{id, start, end, speaker, text}]}``) or as text with one
turn per line, ``[speaker] words``. The index tokenises each segment once, settles questions by their answers
(``negation.transcript_polarities``), and finds every quantity, drug name and side of the body, so that checking
a note's forty statements costs forty look-ups, not forty readings of the visit.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from notes.content import SegmentId
from notes.faithfulness.drugs import DrugMention, find_drugs
from notes.faithfulness.negation import Polarity, transcript_polarities
from notes.faithfulness.numbers import Quantity, all_quantities
from notes.faithfulness.text import STOPWORDS, Token, tokenize


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a visit or a note is read.

    Reading a visit makes thousands of small objects (tokens, mentions) that live until the check is done and
    refer to nothing that refers back: reference counting frees them. The collector's passes over them while they
    live find nothing and cost about a tenth of the check. It is switched on again (when it was on) at the end,
    and then finds what it would have found.
    """
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_TURN_RE = re.compile(r"^\s*\[([^\]]{1,40})\]\s*(.*)$")
_SENTENCE_END = frozenset({".", "?", "!"})


@dataclass(frozen=True, slots=True)
class Segment:
    id: SegmentId
    speaker: str
    text: str


class SegmentLike(Protocol):
    @property
    def id(self) -> SegmentId: ...

    @property
    def speaker(self) -> str: ...

    @property
    def text(self) -> str: ...


class TranscriptFormatError(ValueError):
    """The transcript is neither ``[speaker] words`` lines nor the API's transcript JSON."""


def parse_transcript_text(text: str) -> list[Segment]:
    """One segment per non-empty line; ``[speaker]`` prefixes name the speaker, ids count from 0."""
    segments: list[Segment] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _TURN_RE.match(line)
        speaker, words = (match.group(1).strip().lower(), match.group(2)) if match else ("", line.strip())
        segments.append(Segment(id=len(segments), speaker=speaker, text=words.strip()))
    return segments


def parse_transcript_json(data: Mapping[str, Any]) -> list[Segment]:
    """The API's transcript: ``{"segments": [{"id", "speaker", "text", ...}]}``."""
    raw = data.get("segments")
    if not isinstance(raw, list):
        raise TranscriptFormatError('The transcript JSON has no "segments" list.')
    segments: list[Segment] = []
    for position, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("text", ""), str):
            raise TranscriptFormatError(f"Transcript segment {position} is not an object with a text.")
        segment_id = item.get("id", position)
        if not isinstance(segment_id, int | str) or isinstance(segment_id, bool):
            raise TranscriptFormatError(f"Transcript segment {position} has an id that is not a number or text.")
        speaker = item.get("speaker") or ""
        segments.append(Segment(id=segment_id, speaker=str(speaker).lower(), text=str(item.get("text", ""))))
    return segments


def parse_transcript(value: object) -> list[Segment]:
    """A transcript as text lines, as the API's JSON (a mapping, or text holding it), or a list of segments."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError as error:
                raise TranscriptFormatError(f"The transcript looks like JSON but is not: {error.msg}.") from error
            if not isinstance(data, Mapping):
                raise TranscriptFormatError("The transcript JSON is not an object.")
            return parse_transcript_json(data)
        return parse_transcript_text(value)
    if isinstance(value, Mapping):
        return parse_transcript_json(value)
    if isinstance(value, list):
        return parse_transcript_json({"segments": value})
    raise TranscriptFormatError("The transcript must be text or the transcript JSON.")


def as_segments(segments: Iterable[SegmentLike | Mapping[str, Any]]) -> list[Segment]:
    out: list[Segment] = []
    for position, item in enumerate(segments):
        if isinstance(item, Mapping):
            out.append(
                Segment(
                    id=item.get("id", position),
                    speaker=str(item.get("speaker") or "").lower(),
                    text=str(item.get("text", "")),
                )
            )
        else:
            out.append(Segment(id=item.id, speaker=(item.speaker or "").lower(), text=item.text))
    return out


@dataclass(slots=True)
class Turn:
    segment: Segment
    tokens: list[Token]
    polarities: list[Polarity]
    answered_by: list[int | None]
    presumed: set[int]  # positions of questions that take a finding as there ("how is your heartburn doing?")
    quantities: list[Quantity]
    drugs: list[DrugMention]
    stems: frozenset[str]
    words: list[str]  # the tokens' texts
    word_set: frozenset[str]  # the same, for a look-up: a turn that says none of a detector's words is skipped


class Occurrence(NamedTuple):
    """Where a word is said: a visit has thousands, so they are tuples (a frozen dataclass costs several times
    as much to make)."""

    turn: int  # index into TranscriptIndex.turns
    position: int  # token index in that turn


@dataclass(slots=True)
class TranscriptIndex:
    turns: list[Turn]
    by_stem: dict[str, list[Occurrence]] = field(default_factory=dict)
    document_frequency: dict[str, int] = field(default_factory=dict)
    drugs: dict[str, list[Occurrence]] = field(default_factory=dict)

    @classmethod
    def build(cls, segments: Sequence[Segment]) -> TranscriptIndex:
        with collector_paused():
            return cls._build(segments)

    @classmethod
    def _build(cls, segments: Sequence[Segment]) -> TranscriptIndex:
        token_lists = [tokenize(segment.text) for segment in segments]
        word_lists = [[token.text for token in tokens] for tokens in token_lists]
        polarities = transcript_polarities(
            [(s.speaker, t) for s, t in zip(segments, token_lists, strict=True)], word_lists
        )
        turns: list[Turn] = []
        by_stem: dict[str, list[Occurrence]] = {}
        document_frequency: dict[str, int] = {}
        drugs: dict[str, list[Occurrence]] = {}
        new_occurrence = tuple.__new__
        for turn_index, (segment, tokens, polarity, words) in enumerate(
            zip(segments, token_lists, polarities, word_lists, strict=True)
        ):
            found_drugs = find_drugs(tokens, segment.text, words)
            content: set[str] = set()  # the stems of the turn's words, stopwords aside
            for position, token in enumerate(tokens):
                if token.is_word:
                    stem_ = token.stem
                    occurrence = new_occurrence(Occurrence, (turn_index, position))
                    found = by_stem.get(stem_)
                    if found is None:
                        by_stem[stem_] = [occurrence]
                    else:
                        found.append(occurrence)
                    if token.text not in STOPWORDS:
                        content.add(stem_)
            stems = frozenset(content)
            turns.append(
                Turn(
                    segment=segment,
                    tokens=tokens,
                    polarities=polarity.polarities,
                    answered_by=polarity.answered_by,
                    presumed=polarity.presumed,
                    quantities=all_quantities(tokens, segment.text, words),
                    drugs=found_drugs,
                    stems=stems,
                    words=words,
                    word_set=frozenset(words),
                )
            )
            for stem_ in stems:
                document_frequency[stem_] = document_frequency.get(stem_, 0) + 1
            for mention in found_drugs:
                drugs.setdefault(mention.canonical, []).append(Occurrence(turn_index, mention.start))
        return cls(turns, by_stem, document_frequency, drugs)

    def words(self, occurrence: Occurrence, before: int = 6, after: int = 8) -> str:
        """The words around an occurrence, as said."""
        turn = self.turns[occurrence.turn]
        tokens = turn.tokens
        if not tokens:
            return turn.segment.text
        start = max(occurrence.position - before, 0)
        for position in range(occurrence.position - 1, start - 1, -1):
            if tokens[position].text in _SENTENCE_END:
                start = position + 1  # the sentence it is said in, not the end of the one before
                break
        first = tokens[start].start
        last = tokens[min(occurrence.position + after, len(tokens) - 1)].end
        return turn.segment.text[first:last].strip()

    def evidence_of(self, occurrence: Occurrence) -> list[SegmentId]:
        turn = self.turns[occurrence.turn]
        ids = [turn.segment.id]
        answered = turn.answered_by[occurrence.position] if occurrence.position < len(turn.answered_by) else None
        if answered is not None:
            ids.append(self.turns[answered].segment.id)
        return ids

    def polarity(self, occurrence: Occurrence) -> Polarity:
        return self.turns[occurrence.turn].polarities[occurrence.position]

    def index_of(self, segment_id: SegmentId) -> int | None:
        for position, turn in enumerate(self.turns):
            if turn.segment.id == segment_id or str(turn.segment.id) == str(segment_id):
                return position
        return None
