from __future__ import annotations

import json
import sys
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from collections.abc import Mapping
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notes.faithfulness import NoteCheck, TranscriptFormatError, check_note, parse_transcript, split_note
from notes.faithfulness.drugs import lexicon
from notes.faithfulness.note import NoteSection, NoteStatement

HELP = """\
Check notes against their transcripts, one JSON object per line, with no database.

Each input line on standard input is
  {"id": ..., "transcript": ..., "note": ...}
where "transcript" is text with one turn per line ("[doctor] any chest pain?") or the API's transcript JSON
({"segments": [{"id", "start", "end", "speaker", "text"}]}, as an object or as text), and "note" is plain text
with headings (UPPERCASE lines, "## Heading" or "Heading:") or the API's note JSON ({"sections": [{"key",
"heading", "text" or "statements": [{"text", "evidence"}]}]}).

Each output line, in the input's order, is
  {"id": ..., "statements": [{"section": heading, "text": ..., "flags": [{"kind", "message", "evidence",
   "said"}]}]}
with every statement of the note, flagged or not. "evidence" lists transcript segment ids (for text
transcripts, the 0-based number of the turn's line among the non-empty lines); "said" is the transcript's
words for the flag ("" when nothing was said). Flags about the note as a whole (kind "omitted_risk") come
last, in an entry with "section": "" and "text": "".

A line that cannot be checked gives {"id": ..., "error": "..."} and the others are still checked; the exit
status is then 1. Blank lines are skipped.
"""


class Command(BaseCommand):
    help = HELP
    # No database, no migrations: the checker is pure Python and this command must run anywhere.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--jsonl",
            action="store_true",
            help="Read JSON lines on standard input and write one JSON line per input (the only mode).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["jsonl"]:
            raise CommandError("Say --jsonl: this command reads JSON lines on standard input.")
        failures = check_lines(sys.stdin, self.stdout)
        if failures:
            raise CommandError(f"{failures} input line(s) could not be checked; see their error lines.", returncode=1)


def check_lines(source: TextIO, out: Any) -> int:
    """Check every line of ``source``, writing one JSON line each; returns how many could not be checked."""
    lexicon()  # once, before the first line, so that every line takes milliseconds
    failures = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        result = _check_line(line, number)
        if "error" in result:
            failures += 1
        out.write(json.dumps(result, ensure_ascii=False))
        out.flush()
    return failures


def _check_line(line: str, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        return {"id": None, "error": f"Line {number} is not JSON: {error.msg} (column {error.colno})."}
    if not isinstance(data, Mapping):
        return {"id": None, "error": f"Line {number} is not a JSON object."}
    line_id = data.get("id")
    if line_id is None:
        return {"id": None, "error": f'Line {number} has no "id".'}
    try:
        if "transcript" not in data:
            raise ValueError('There is no "transcript".')
        if "note" not in data:
            raise ValueError('There is no "note".')
        segments = parse_transcript(data["transcript"])
        sections = _note_sections(data["note"])
        return {"id": line_id, "statements": _statements(check_note(segments, sections))}
    except (TranscriptFormatError, ValueError, TypeError) as error:
        return {"id": line_id, "error": str(error)}
    except Exception as error:  # noqa: BLE001 - one bad note must never stop the others or print a traceback
        return {"id": line_id, "error": f"The note could not be checked ({type(error).__name__})."}


def _note_sections(note: object) -> list[NoteSection]:
    if isinstance(note, str):
        return split_note(note)
    if isinstance(note, Mapping) and isinstance(note.get("sections"), list):
        sections = []
        for position, raw in enumerate(note["sections"]):
            if not isinstance(raw, Mapping):
                raise ValueError(f"Note section {position} is not an object.")
            heading = str(raw.get("heading") or raw.get("key") or "")
            key = str(raw.get("key") or heading)
            statements = raw.get("statements")
            if isinstance(statements, list) and statements:
                parsed = [_statement(item, position) for item in statements]
            else:
                text = raw.get("text") or ""
                if not isinstance(text, str):
                    raise ValueError(f"Note section {position} has a text that is not text.")
                parsed = [s for part in split_note(text) for s in part.statements]
            sections.append(NoteSection(key=key, heading=heading, statements=parsed))
        return sections
    raise ValueError('The "note" must be text, or an object with a "sections" list.')


def _statement(item: object, section: int) -> NoteStatement:
    if isinstance(item, str):
        return NoteStatement(item)
    if isinstance(item, Mapping) and isinstance(item.get("text"), str):
        evidence = item.get("evidence") or []
        if not isinstance(evidence, list) or not all(isinstance(i, int | str) for i in evidence):
            raise ValueError(f"A statement of note section {section} has evidence that is not a list of ids.")
        return NoteStatement(item["text"], tuple(evidence))
    raise ValueError(f"A statement of note section {section} is neither text nor an object with a text.")


def _statements(result: NoteCheck) -> list[dict[str, Any]]:
    statements = [
        {
            "section": statement.heading,
            "text": statement.text,
            "flags": [flag.as_dict() for flag in statement.flags],
        }
        for statement in result.statements
    ]
    if result.note_flags:
        statements.append({"section": "", "text": "", "flags": [flag.as_dict() for flag in result.note_flags]})
    return statements
