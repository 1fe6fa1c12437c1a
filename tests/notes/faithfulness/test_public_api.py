"""``check_note`` takes the shapes its callers have: segments as objects or mappings, sections as tuples,
mappings or parsed notes, statements with the segments they cite."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from notes.content import Flag as StoredFlag
from notes.content import FlagKind
from notes.faithfulness import CHECKED_KINDS, Flag, Segment, TranscriptFormatError, check_note, parse_transcript
from notes.faithfulness.numbers import same_amount
from tests.notes.faithfulness.test_numbers import only

VISIT = [
    {"id": 10, "speaker": "Doctor", "text": "I'm starting lisinopril ten milligrams once a day."},
    {"id": 11, "speaker": "Patient", "text": "Okay. My left knee still aches."},
]


def test_flag_kinds_keep_the_apis_names():
    assert [str(kind) for kind in CHECKED_KINDS] == [
        "medication",
        "dose",
        "number",
        "laterality",
        "negation",
        "unsupported",
        "omitted_risk",
    ]
    assert set(CHECKED_KINDS) == set(FlagKind) - {FlagKind.EDITED}


def test_the_checker_and_stored_notes_share_one_flag_type():
    assert Flag is StoredFlag


def test_sections_as_tuples_with_cited_segments():
    result = check_note(VISIT, [("plan", "Plan", [("Lisinopril 20 mg daily.", [10])])])
    statement = result.statements[0]
    assert (statement.section, statement.heading, statement.evidence) == ("plan", "Plan", (10,))
    assert [flag.as_dict() for flag in statement.flags] == [
        {
            "kind": "dose",
            "message": "The note says 20 mg for Lisinopril; the transcript says ten milligrams.",
            "evidence": [10],
            "said": "ten milligrams",
        }
    ]


def test_sections_as_mappings_and_segments_as_objects():
    @dataclass
    class Piece:
        id: int
        speaker: str
        text: str

    segments = [Piece(int(str(s["id"])), str(s["speaker"]), str(s["text"])) for s in VISIT]
    sections = [{"key": "hpi", "heading": "HPI", "text": "Right knee aches. Lisinopril 10 mg once a day."}]
    result = check_note(segments, sections)
    assert [(s.text, [str(f.kind) for f in s.flags]) for s in result.statements] == [
        ("Right knee aches.", ["laterality"]),
        ("Lisinopril 10 mg once a day.", []),
    ]
    assert result.flags == list(result.statements[0].flags)


def test_a_transcript_of_the_wrong_shape_is_refused():
    with pytest.raises(TranscriptFormatError):
        parse_transcript(42)
    with pytest.raises(TranscriptFormatError, match="segment 0"):
        parse_transcript({"segments": [{"id": 1, "text": 5}]})
    assert parse_transcript([{"text": "hello"}]) == [Segment(0, "", "hello")]


def test_frequencies_said_in_words():
    assert same_amount(only("every other day"), only("0.5 times a day"))
    assert same_amount(only("weekly"), only("once a week"))
    assert not same_amount(only("nightly"), only("twice a day"))
