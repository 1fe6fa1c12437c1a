"""A note as plain text → sections of statements (sentences and bullets).

Headings are recognised in the forms notes use: an UPPERCASE line ("HISTORY OF PRESENT ILLNESS"), a markdown
heading ("## Plan"), or a short line that ends with a colon ("Assessment:"). Everything else is split into
statements: one per bullet or line, and one per sentence within a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from notes.content import SegmentId

_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_COLON_HEADING = re.compile(r"^\s*([A-Za-z][A-Za-z /&()'-]{1,60}):\s*$")
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u00b7\u25aa\u2013]+|\d{1,2}[.)]|[a-z][.)])\s+")
_ABBREVIATIONS = re.compile(
    r"\b(?:dr|mr|mrs|ms|st|vs|no|approx|e\.g|i\.e|a\.m|p\.m|etc|jr|sr|fig|wk|wks|yr|yrs|mos|min|hr|hrs)\.$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class NoteStatement:
    text: str
    evidence: tuple[SegmentId, ...] = ()


@dataclass(slots=True)
class NoteSection:
    key: str
    heading: str
    statements: list[NoteStatement] = field(default_factory=list)


def _is_upper_heading(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return (
        len(letters) >= 3
        and all(c.isupper() for c in letters)
        and not line.rstrip().endswith((".", "?", "!"))
        and len(line.split()) <= 8
    )


def heading_of(line: str) -> str | None:
    """The heading a line stands for, or None when it is text."""
    match = _MARKDOWN_HEADING.match(line)
    if match:
        return match.group(1).strip().strip("*_ ").rstrip(":")
    stripped = line.strip().strip("*_").strip()
    if _is_upper_heading(stripped):
        return stripped.rstrip(":").strip()
    match = _COLON_HEADING.match(stripped)
    if match and len(match.group(1).split()) <= 5:
        return match.group(1).strip()
    return None


def section_key(heading: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", heading.lower()).strip("_")
    return key or "note"


def split_sentences(text: str) -> list[str]:
    """Sentences of one line; decimals, abbreviations and initials do not end a sentence."""
    sentences: list[str] = []
    start = 0
    for match in re.finditer(r"[.!?](?=\s+[\"'(]?[A-Z0-9•-])", text):
        candidate = text[start : match.end()].strip()
        if _ABBREVIATIONS.search(candidate) or re.search(r"\b[A-Z]\.$", candidate):
            continue
        if candidate:
            sentences.append(candidate)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def split_note(text: str) -> list[NoteSection]:
    """Sections in order; text before the first heading is a section with an empty heading."""
    sections: list[NoteSection] = [NoteSection(key="", heading="")]
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        heading = heading_of(line)
        if heading is not None:
            sections.append(NoteSection(key=section_key(heading), heading=heading))
            continue
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        for sentence in split_sentences(line):
            sections[-1].statements.append(NoteStatement(sentence))
    return [section for section in sections if section.heading or section.statements]
