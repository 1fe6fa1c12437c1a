"""A proposed format read from an example note the clinician likes.

``propose_format_from_example`` is deterministic: it finds the headings by their typography and derives each
section's instruction from the text under it. Nothing is saved; the owner adjusts the proposal in the editor.

This is also where a model-written proposal would come in (in live AI mode the drafting model could write
better instructions): such an adapter belongs to ``jobs`` (formats may not import the providers) and would
return the same ``FormatProposal``, with this function as its fallback and its test oracle for headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from formats.builtin import FormatLength, SectionSpec
from formats.validation import (
    MAX_HEADING_LENGTH,
    MAX_INSTRUCTION_LENGTH,
    MAX_SECTIONS,
    clean_example,
    key_from_text,
)

PROPOSED_NAME = "Format from an example"
PROPOSED_KEY = "format-from-example"
INSTRUCTION_EXCERPT = 120
# Average words per section below which the example reads as brief, above which as detailed.
BRIEF_WORDS, DETAILED_WORDS = 25, 120


class NoHeadingsFound(ValueError):
    """The example has no line that reads as a heading."""


@dataclass(frozen=True)
class FormatProposal:
    key: str
    name: str
    length: str
    sections: tuple[SectionSpec, ...]


_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*$")
_BOLD_HEADING = re.compile(r"^(\*\*|__)(?P<title>[^*_]+?)\s*:?\s*\1\s*:?$")
_COLON_HEADING = re.compile(r"^(?P<title>[^:.!?]{1,60}):$")
# "Plan: continue weekly sessions" — a label and its text on one line; only used when a note has no headings
# set apart on lines of their own, since inside such a note "BP: 120/80" is content.
_INLINE_LABEL = re.compile(r"^(?P<title>[A-Z][A-Za-z/&()' -]{0,40}?):\s+(?P<rest>\S.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _uppercase_heading(line: str) -> str | None:
    text = line.rstrip(":").strip()
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 2 or len(text) > 60 or len(text.split()) > 8:
        return None
    if any(c.islower() for c in letters) or any(c.isdigit() for c in text):
        return None
    if text.endswith((".", "!", "?", ",")):
        return None
    return text


def _heading_of(line: str) -> str | None:
    """The heading a line announces on its own, or None when the line is content."""
    stripped = line.strip()
    if not stripped:
        return None
    for pattern, most_words in ((_MARKDOWN_HEADING, 10), (_BOLD_HEADING, 10), (_COLON_HEADING, 5)):
        match = pattern.match(stripped)
        if match:
            title = _EMPHASIS.sub("", match.group("title")).strip().rstrip(":").strip()
            if title and len(title.split()) <= most_words:
                return title
    return _uppercase_heading(stripped)


def _readable(heading: str) -> str:
    """A heading as the format shows it: "HISTORY OF PRESENT ILLNESS" → "History of present illness"; short
    abbreviations (HPI, ROS) stay as they are."""
    heading = " ".join(heading.split())[:MAX_HEADING_LENGTH]
    if heading.isupper() and sum(c.isalpha() for c in heading) > 3:
        return heading[0] + heading[1:].lower()
    return heading


def _first_sentence(lines: list[str]) -> str:
    text = " ".join(_EMPHASIS.sub("", _BULLET.sub("", line)).strip() for line in lines if line.strip())
    text = " ".join(text.split())
    if not text:
        return ""
    sentence = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(sentence) > INSTRUCTION_EXCERPT:
        cut = sentence[:INSTRUCTION_EXCERPT].rsplit(" ", 1)[0]
        sentence = f"{cut.rstrip(',;:')}…"
    return sentence


def _instruction(heading: str, lines: list[str]) -> str:
    sentence = _first_sentence(lines)
    if not sentence:
        return f"What belongs under “{heading}”."
    return f"Like: {sentence}"[:MAX_INSTRUCTION_LENGTH]


def _split(lines: list[str]) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        heading = _heading_of(line)
        if heading is not None:
            sections.append((heading, []))
        elif sections:
            sections[-1][1].append(line)
    if sections:
        return sections
    for line in lines:
        match = _INLINE_LABEL.match(line.strip())
        if match and len(match.group("title").split()) <= 4:
            sections.append((match.group("title").strip(), [match.group("rest")]))
        elif sections:
            sections[-1][1].append(line)
    return sections


def _length(sections: list[tuple[str, list[str]]]) -> str:
    words = sum(len(" ".join(body).split()) for _, body in sections) / len(sections)
    if words < BRIEF_WORDS:
        return FormatLength.BRIEF.value
    if words > DETAILED_WORDS:
        return FormatLength.DETAILED.value
    return FormatLength.STANDARD.value


def propose_format_from_example(text: str) -> FormatProposal:
    """The format an example note is written in: its headings in order (UPPERCASE lines, ``## Heading``,
    ``Heading:`` lines, ``**Heading**``; or ``Label: text`` lines when it has none of those), each with an
    instruction from the text under it, and a length from how much it says. At most ``MAX_SECTIONS``.

    Raises ``django.core.exceptions.ValidationError`` for text that is not a usable example, and
    ``NoHeadingsFound`` when no line reads as a heading.
    """
    example = clean_example(text)
    found = _split(example.replace("\r\n", "\n").replace("\r", "\n").split("\n"))[:MAX_SECTIONS]
    if not found:
        raise NoHeadingsFound(
            "No headings found. Put each heading on a line of its own, e.g. “SUBJECTIVE”, “## Plan”, "
            "“Assessment:” or “**Plan**”."
        )
    taken: set[str] = set()
    sections = []
    for raw_heading, body in found:
        heading = _readable(raw_heading)
        key = key_from_text(heading, taken=taken)
        taken.add(key)
        sections.append(SectionSpec(key=key, heading=heading, instruction=_instruction(heading, body)))
    return FormatProposal(key=PROPOSED_KEY, name=PROPOSED_NAME, length=_length(found), sections=tuple(sections))
