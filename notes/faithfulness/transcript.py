"""Transcripts in, read once: segments from text or JSON, and an index every detector shares.

A transcript arrives as the API's JSON (``{"segments": [{id, start, end, speaker, text}]}``) or as text with one
turn per line, ``[speaker] words``. The index tokenises each segment once, settles questions by their answers
(``negation.transcript_polarities``), and finds every quantity, drug name and side of the body, so that checking
a note's forty statements costs forty look-ups, not forty readings of the visit.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from notes.content import SegmentId
from notes.faithfulness.drugs import DrugMention, find_drugs
from notes.faithfulness.negation import Polarity, transcript_polarities
from notes.faithfulness.numbers import Quantity, all_quantities
from notes.faithfulness.text import STOPWORDS, Token, tokenize

_TURN_RE = re.compile(r"^\s*\[([^\]]{1,40})\]\s*(.*)$")


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


@dataclass(frozen=True, slots=True)
class Occurrence:
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
        token_lists = [tokenize(segment.text) for segment in segments]
        polarities = transcript_polarities([(s.speaker, t) for s, t in zip(segments, token_lists, strict=True)])
        turns: list[Turn] = []
        by_stem: dict[str, list[Occurrence]] = defaultdict(list)
        document_frequency: dict[str, int] = defaultdict(int)
        drugs: dict[str, list[Occurrence]] = defaultdict(list)
        for turn_index, (segment, tokens, polarity) in enumerate(zip(segments, token_lists, polarities, strict=True)):
            found_drugs = find_drugs(tokens, segment.text)
            stems = frozenset(t.stem for t in tokens if t.is_word and t.text not in STOPWORDS)
            turns.append(
                Turn(
                    segment=segment,
                    tokens=tokens,
                    polarities=polarity.polarities,
                    answered_by=polarity.answered_by,
                    presumed=polarity.presumed,
                    quantities=all_quantities(tokens, segment.text),
                    drugs=found_drugs,
                    stems=stems,
                )
            )
            for position, token in enumerate(tokens):
                if token.is_word:
                    by_stem[token.stem].append(Occurrence(turn_index, position))
            for stem_ in stems:
                document_frequency[stem_] += 1
            for mention in found_drugs:
                drugs[mention.canonical].append(Occurrence(turn_index, mention.start))
        return cls(turns, dict(by_stem), dict(document_frequency), dict(drugs))

    def words(self, occurrence: Occurrence, before: int = 6, after: int = 8) -> str:
        """The words around an occurrence, as said."""
        turn = self.turns[occurrence.turn]
        tokens = turn.tokens
        if not tokens:
            return turn.segment.text
        first = tokens[max(occurrence.position - before, 0)].start
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
