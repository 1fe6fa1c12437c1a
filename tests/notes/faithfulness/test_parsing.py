from __future__ import annotations

import json

import pytest

from notes.faithfulness import Segment, TranscriptFormatError, parse_transcript, split_note


def test_a_text_transcript_has_one_segment_per_turn_numbered_from_zero():
    segments = parse_transcript("[doctor] any chest pain ?\n\n[patient] no .\n")
    assert segments == [Segment(0, "doctor", "any chest pain ?"), Segment(1, "patient", "no .")]


def test_the_api_transcript_json_keeps_its_ids_as_object_or_as_text():
    data = {"segments": [{"id": 12, "start": 0.0, "end": 2.5, "speaker": "Patient", "text": "my knee hurts"}]}
    assert parse_transcript(data) == [Segment(12, "patient", "my knee hurts")]
    assert parse_transcript(json.dumps(data)) == [Segment(12, "patient", "my knee hurts")]


def test_a_transcript_json_without_segments_is_refused_with_a_reason():
    with pytest.raises(TranscriptFormatError, match="segments"):
        parse_transcript({"text": "hello"})


def test_uppercase_markdown_and_colon_headings_start_sections():
    note = (
        "CHIEF COMPLAINT\n\nKnee pain.\n\n## History of present illness\nShe fell. She hurt her knee.\n"
        "Plan:\n- Ice the knee.\n- Ibuprofen 400 mg as needed.\n"
    )
    sections = split_note(note)
    assert [(s.heading, [t.text for t in s.statements]) for s in sections] == [
        ("CHIEF COMPLAINT", ["Knee pain."]),
        ("History of present illness", ["She fell.", "She hurt her knee."]),
        ("Plan", ["Ice the knee.", "Ibuprofen 400 mg as needed."]),
    ]


def test_decimals_and_abbreviations_do_not_end_a_statement():
    sections = split_note("PLAN\nSeen by Dr. Smith. A1c was 7.2 today.")
    assert [t.text for t in sections[0].statements] == ["Seen by Dr. Smith.", "A1c was 7.2 today."]
