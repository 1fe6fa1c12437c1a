"""A deterministic faithfulness checker: a note's statements against the transcript of the visit.

Pure Python, no Django models, no network and no model weights. See ``checker`` for the flags it raises; they
are ``notes.content.Flag`` values, of the kinds ``notes.content.FlagKind`` defines.
"""

from __future__ import annotations

from notes.content import Flag, FlagKind
from notes.faithfulness.checker import (
    CHECKED_KINDS,
    NoteCheck,
    StatementCheck,
    check_note,
    check_note_text,
)
from notes.faithfulness.hallucination import drop_hallucinated_segments
from notes.faithfulness.note import NoteSection, NoteStatement, split_note
from notes.faithfulness.transcript import (
    Segment,
    TranscriptFormatError,
    TranscriptIndex,
    parse_transcript,
)

__all__ = [
    "CHECKED_KINDS",
    "Flag",
    "FlagKind",
    "NoteCheck",
    "NoteSection",
    "NoteStatement",
    "Segment",
    "StatementCheck",
    "TranscriptFormatError",
    "TranscriptIndex",
    "check_note",
    "check_note_text",
    "drop_hallucinated_segments",
    "parse_transcript",
    "split_note",
]
