"""A section's statements after a clinician edits its text.

A clinician edits a section as plain text. When it is saved, the text is split again into statements (one per
bullet or sentence), and each statement keeps the evidence and flags of the drafted statement it still is: the
same words, or the same words once case, spacing, a bullet marker and end punctuation are set aside. A
statement the clinician wrote or rewrote cites nothing of the transcript and carries the ``edited`` flag, so the
note says which sentences were checked against the session and which are the clinician's own.

Pure functions: no database, nothing from ``jobs``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from notes.content import Flag, FlagKind, Section, Statement, normalise_section_text

EDITED_MESSAGE = "Written or changed by the clinician after the draft, so it cites nothing in the transcript."

# "- ", "* ", "• ", "1. ", "2) " at the start of a line.
_BULLET = re.compile(r"^\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+")
# A sentence ends at ".", "!" or "?" (with any closing quote or bracket) followed by space and a capital, a digit
# or an opening quote or bracket. Doses ("2.5 mg") and decimals have no space after the point, so they stay whole.
_CLOSING = "\"')]\u201d\u2019"
_OPENING = "\"'([\u201c\u2018"
_SENTENCE_END = re.compile(rf"([.!?][{re.escape(_CLOSING)}]*)\s+(?=[{re.escape(_OPENING)}]?[A-Z0-9])")
# Words whose point is not the end of a sentence: "Dr. Lee", "e.g. sleep", "approx. 5 hours".
_ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "vs", "e.g", "i.e", "etc", "approx", "no", "fig", "cf", "mt", "jr", "sr"}
)
_TRAILING_PUNCTUATION = re.compile(r"[\s.!?;:,]+$")
_SPACES = re.compile(r"\s+")


def _sentences(line: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        candidate = line[start : match.end(1)].strip()
        last_word = candidate.rsplit(None, 1)[-1] if candidate else ""
        if last_word.rstrip(".").lower() in _ABBREVIATIONS:
            continue
        pieces.append(candidate)
        start = match.end()
    pieces.append(line[start:].strip())
    return [piece.strip() for piece in pieces if piece.strip()]


def statement_key(text: str) -> str:
    """What two statements must share to be the same statement: words and numbers, whatever the case, spacing,
    bullet marker or closing punctuation."""
    text = _BULLET.sub("", normalise_section_text(text))
    text = _TRAILING_PUNCTUATION.sub("", text)
    return _SPACES.sub(" ", text).strip().casefold()


def edited_statement(text: str) -> Statement:
    return Statement(text=text, evidence=(), flags=(Flag(kind=FlagKind.EDITED, message=EDITED_MESSAGE, evidence=()),))


def match_statements(previous: Sequence[Statement], text: str) -> tuple[Statement, ...]:
    """The statements of ``text``, each keeping the evidence and flags of the statement of ``previous`` it still is.

    A whole line (or bullet) that is a previous statement stays one statement, even of several sentences; any
    other line is split into its sentences, each matched on its own. Unmatched statements are edited ones.
    """
    exact = {statement.text.strip(): statement for statement in reversed(previous)}
    by_key = {statement_key(statement.text): statement for statement in reversed(previous)}

    def kept(words: str) -> Statement | None:
        found = exact.get(words) or by_key.get(statement_key(words))
        return None if found is None else Statement(text=words, evidence=found.evidence, flags=found.flags)

    statements: list[Statement] = []
    for raw_line in normalise_section_text(text).split("\n"):
        line = _BULLET.sub("", raw_line).strip()
        if not line:
            continue
        whole = kept(line)
        if whole is not None:
            statements.append(whole)
            continue
        statements.extend(kept(sentence) or edited_statement(sentence) for sentence in _sentences(line))
    return tuple(statements)


def rederive_statements(old: Section, new_text: str) -> Section:
    """The section as it is once its text is ``new_text``.

    Each statement of the new text that matches a statement of ``old`` (exactly, or by ``statement_key``) keeps
    that statement's evidence and flags; every other one is an edited statement (``match_statements``). The
    section's evidence is what its statements still cite. When the text is unchanged the section is returned as
    it was.
    """
    new_text = normalise_section_text(new_text)
    if new_text == old.text:
        return old
    statements = match_statements(old.statements, new_text)
    return Section(
        key=old.key,
        heading=old.heading,
        text=new_text,
        evidence=tuple(sorted({i for statement in statements for i in statement.evidence})),
        statements=statements,
        edited=True,
    )


def statements_of(section: Section) -> tuple[Statement, ...]:
    """The statements a section's text holds now: its stored ones when they are its text, else its text matched
    against them (a note saved before statements were derived again on each save, or one written by hand)."""
    matched = match_statements(section.statements, section.text)
    stored = [statement_key(statement.text) for statement in section.statements if statement.text.strip()]
    if stored == [statement_key(statement.text) for statement in matched]:
        return tuple(statement for statement in section.statements if statement.text.strip())
    return matched
