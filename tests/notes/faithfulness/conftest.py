"""Helpers for the checker's tests: excerpts of real visits, and a one-call check of a note against a visit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from notes.content import Flag
from notes.faithfulness import NoteCheck, check_note_text, parse_transcript

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load_excerpts() -> dict[str, dict[str, str]]:
    with (FIXTURES / "aci_bench_excerpts.csv").open(newline="", encoding="utf-8") as handle:
        return {row["encounter_id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="session")
def excerpts() -> dict[str, dict[str, str]]:
    return load_excerpts()


def check(transcript: str, note: str) -> NoteCheck:
    return check_note_text(parse_transcript(transcript), note)


def flags_for(transcript: str, note: str, statement: str) -> list[Flag]:
    """The flags of the one statement of ``note`` that contains ``statement``."""
    result = check(transcript, note)
    found = [s for s in result.statements if statement in s.text]
    assert len(found) == 1, [s.text for s in result.statements]
    return list(found[0].flags)


def kinds_for(transcript: str, note: str, statement: str) -> set[str]:
    return {str(flag.kind) for flag in flags_for(transcript, note, statement)}
