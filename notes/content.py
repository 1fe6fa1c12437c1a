"""What a note says, as one typed value: its sections, the statements in them, the transcript evidence behind
each, and the flags a clinician should review before signing.

The pipeline builds a ``NoteContent`` once from the drafting model's answer; notes stores it with ``to_json``
(``Note.sections``, the ``sections`` of ``Note.pending_draft``, ``NoteRevision.sections``) and every reader
gets it back through ``NoteContent.from_json``, the one place where that JSON is checked. This module is pure:
no database, no network, nothing from ``jobs``.

The stored JSON is a list of sections in template order::

    {"key", "heading", "text", "evidence": [segment ids], "flags": [flag kinds],
     "statements": [{"text", "evidence": [segment ids], "supported": true | false,
                     "flags": [{"kind", "message", "evidence": [segment ids], "said",
                                "written"?, "dismissed"?: {"reason", "by", "by_name", "at"}}]}]}

and the note's own flags (``omitted_risk``) are a list of flags of the same shape, stored beside the sections
(``Note.flags``, ``NoteRevision.flags``, the ``flags`` of ``Note.pending_draft``); rows written before there
were any have none. ``written`` and ``dismissed`` appear only on flags that have them.

A section's ``flags`` and a statement's ``supported`` are summaries of the statements' flags, written so that
readers of the JSON (the API, an older release during a deploy) need not derive them. When a clinician changes a
section's text, ``notes.services.note_save`` adds ``edited`` to the section's list and splits the text into
statements again (``notes.statements``): a statement that is still a drafted one keeps its evidence and flags,
any other carries an ``edited`` flag of its own.

Rows written before statements carried flags hold statements as ``{"text", "evidence", "supported"}``.
``from_json`` reads ``"supported": false`` there as the ``unsupported`` flag the pipeline gives a statement
that cites nothing, which is exactly what it recorded. That reading is chosen over a data migration: revisions
are the note's history and are never rewritten, a pending draft accepted later copies its sections verbatim
into the note, and the old shape is a subset of the new one, so one branch here reads every row ever written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.db import models

# NUL and lone surrogates cannot be stored in a PostgreSQL JSON value; model output may still carry them.
_UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def normalise_section_text(text: str) -> str:
    # Browsers send textarea content with CRLF; stored notes use LF so an untouched section compares equal.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _storable(text: str) -> str:
    return _UNSTORABLE_CHARACTERS.sub("", normalise_section_text(text))


class FlagKind(models.TextChoices):
    """Every kind of flag a note can carry, the one definition: the faithfulness checker (``notes.faithfulness``)
    raises all but ``edited`` with these values, which are the API's names. The labels name a section's flags on
    the note pages."""

    UNSUPPORTED = "unsupported", "Unsupported statements"
    MEDICATION = "medication", "Medication"
    DOSE = "dose", "Dose"
    NUMBER = "number", "Number"
    LATERALITY = "laterality", "Laterality"
    NEGATION = "negation", "Negation"
    # Per note: a risk said in the transcript (suicidal ideation, self-harm, abuse, …) that the note omits.
    OMITTED_RISK = "omitted_risk", "Omitted risk"
    EDITED = "edited", "Edited by clinician"


# A transcript segment's id: the pipeline numbers segments 0..n-1, and stored notes hold integers only
# (``from_json`` refuses anything else); ``manage.py check_note`` also accepts the ids a caller's transcript uses.
SegmentId = int | str

UNCITED_MESSAGE = "Nothing in the transcript is cited for this statement: check it against the session before signing."


# A dismissal's reason is a short note for the record, not a second note.
DISMISSAL_REASON_MAX_CHARS = 300


@dataclass(frozen=True)
class Dismissal:
    """A clinician's decision that a flag needs nothing done: why, who (their user id and name) and when."""

    reason: str
    by: str
    by_name: str
    at: str  # ISO 8601, UTC

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", _storable(self.reason))
        object.__setattr__(self, "by_name", _storable(self.by_name))


@dataclass(frozen=True)
class Flag:
    """Something for the clinician to check, with the transcript evidence: segment ids and the words as said.

    The one flag type: the faithfulness checker returns these, and notes store them. ``said`` is the
    transcript's words behind the flag ("" when nothing was said). ``written`` is the statement's own words
    that ``said`` would replace, when the transcript says something specific instead ("ibuprofen 600 mg" for
    "ibuprofen 400 milligrams"); "" when there is no such fix. ``dismissal`` is set once a clinician has
    dismissed the flag: it stays, shown as resolved.
    """

    kind: FlagKind
    message: str
    evidence: tuple[SegmentId, ...]
    said: str = ""
    written: str = ""
    dismissal: Dismissal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", _storable(self.message))
        object.__setattr__(self, "said", _storable(self.said))
        object.__setattr__(self, "written", _storable(self.written))

    def as_dict(self) -> dict[str, Any]:
        """The flag as ``manage.py check_note`` writes it: exactly kind, message, evidence and said."""
        return {"kind": self.kind.value, "message": self.message, "evidence": list(self.evidence), "said": self.said}

    @property
    def needs_review(self) -> bool:
        """Whether the clinician still has to look at it: not ``edited`` (which only says who wrote the
        statement) and not dismissed."""
        return self.kind != FlagKind.EDITED and self.dismissal is None

    @property
    def same_finding(self) -> tuple[str, str]:
        """What makes two flags the same, so that a check run again keeps a dismissal: its kind and message."""
        return (self.kind.value, self.message)

    @classmethod
    def uncited(cls) -> Flag:
        """The flag of a statement that cites no segment of the transcript."""
        return cls(kind=FlagKind.UNSUPPORTED, message=UNCITED_MESSAGE, evidence=())


@dataclass(frozen=True)
class Statement:
    """One sentence or bullet of a section, the transcript segments it cites, and its flags."""

    text: str
    evidence: tuple[int, ...]
    flags: tuple[Flag, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _storable(self.text))

    @property
    def supported(self) -> bool:
        return not any(flag.kind == FlagKind.UNSUPPORTED for flag in self.flags)


@dataclass(frozen=True)
class Section:
    """One section of a note.

    ``text`` is what the clinician reads and edits; ``statements`` are its sentences or bullets, each with its
    evidence and flags (re-derived from the text when a clinician saves it). ``evidence`` is the section's own
    list of cited segments (every segment its statements cite). ``edited`` records that a clinician changed the
    text.
    """

    key: str
    heading: str
    text: str
    evidence: tuple[int, ...] = ()
    statements: tuple[Statement, ...] = ()
    edited: bool = False

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("A note section needs a key.")
        object.__setattr__(self, "heading", _storable(self.heading))
        object.__setattr__(self, "text", _storable(self.text))

    @classmethod
    def from_statements(cls, *, key: str, heading: str, statements: Iterable[Statement]) -> Section:
        """A drafted section: its text is its statements, one a line, and its evidence all they cite."""
        statements = tuple(statements)
        return cls(
            key=key,
            heading=heading,
            text="\n".join(statement.text for statement in statements),
            evidence=tuple(sorted({i for statement in statements for i in statement.evidence})),
            statements=statements,
        )

    @property
    def flag_kinds(self) -> tuple[FlagKind, ...]:
        """The kinds of flag on the section, each once: its statements' in order, then ``edited``."""
        kinds = [flag.kind for statement in self.statements for flag in statement.flags]
        if self.edited:
            kinds.append(FlagKind.EDITED)
        return tuple(dict.fromkeys(kinds))

    @property
    def unsupported_statements(self) -> tuple[Statement, ...]:
        return tuple(statement for statement in self.statements if not statement.supported)


@dataclass(frozen=True)
class NoteContent:
    """The sections of a note in template order: at least one, each key once; and the flags about the note as a
    whole (``omitted_risk``: a risk said in the visit that the note leaves out)."""

    sections: tuple[Section, ...]
    flags: tuple[Flag, ...] = ()

    def __post_init__(self) -> None:
        if not self.sections:
            raise ValueError("A note needs at least one section.")
        keys: set[str] = set()
        for position, section in enumerate(self.sections, start=1):
            if section.key in keys:
                raise ValueError(f"Section {position} repeats the key {section.key!r}.")
            keys.add(section.key)

    @property
    def unresolved_flags(self) -> tuple[Flag, ...]:
        """The flags a clinician still has to review: every statement's and the note's own, except ``edited``
        (which only says that the clinician wrote the statement) and those a clinician dismissed."""
        return tuple(flag for _where, flag in self.flags_with_places() if flag.needs_review)

    def flags_with_places(self) -> list[tuple[FlagPlace, Flag]]:
        """Every flag with where it is: its section, statement and position, or the note's own."""
        found: list[tuple[FlagPlace, Flag]] = []
        for section in self.sections:
            for number, statement in enumerate(section.statements):
                for position, flag in enumerate(statement.flags):
                    found.append((FlagPlace(section.key, number, position), flag))
        for position, flag in enumerate(self.flags):
            found.append((FlagPlace("", None, position), flag))
        return found

    def flag_at(self, place: FlagPlace) -> Flag | None:
        """The flag at ``place``, or None when there is none there."""
        for where, flag in self.flags_with_places():
            if where == place:
                return flag
        return None

    def with_flag(self, place: FlagPlace, flag: Flag) -> NoteContent:
        """The content with the flag at ``place`` replaced by ``flag``. Raises LookupError when there is none."""
        if self.flag_at(place) is None:
            raise LookupError(f"No flag at {place}.")
        if place.statement is None:
            flags = list(self.flags)
            flags[place.position] = flag
            return replace(self, flags=tuple(flags))
        sections = []
        for section in self.sections:
            if section.key != place.section:
                sections.append(section)
                continue
            statements = list(section.statements)
            old = statements[place.statement]
            new_flags = list(old.flags)
            new_flags[place.position] = flag
            statements[place.statement] = replace(old, flags=tuple(new_flags))
            sections.append(replace(section, statements=tuple(statements)))
        return replace(self, sections=tuple(sections))

    @classmethod
    def empty(cls, sections: Iterable[tuple[str, str]]) -> NoteContent:
        """A note with nothing written yet, from ``(key, heading)`` pairs."""
        return cls(sections=tuple(Section(key=key, heading=heading, text="") for key, heading in sections))

    def to_json(self) -> list[dict[str, Any]]:
        """The sections as stored (``Note.sections``); the note's own flags are stored apart (``flags_to_json``)."""
        return [_section_to_json(section) for section in self.sections]

    def flags_to_json(self) -> list[dict[str, Any]]:
        """The note's own flags as stored (``Note.flags``)."""
        return [_flag_to_json(flag) for flag in self.flags]

    @classmethod
    def from_json(cls, value: Any, flags: Any = None) -> NoteContent:
        """The content stored as ``value`` (its sections, in this shape or the older one: see the module's
        docstring) and ``flags`` (the note's own flags; None or missing in rows written before there were any).

        Raises ValueError naming what is malformed. Nothing is guessed: a note whose flags or evidence could
        not be read is refused rather than shown to a clinician without them.
        """
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise ValueError("A note's sections must be a list.")
        if flags is None:
            flags = []
        if not isinstance(flags, list | tuple):
            raise ValueError("A note's own flags must be a list.")
        return cls(
            sections=tuple(
                _section_from_json(section, f"Section {position}") for position, section in enumerate(value, start=1)
            ),
            flags=tuple(_flag_from_json(flag, f"Note flag {n}") for n, flag in enumerate(flags, start=1)),
        )


@dataclass(frozen=True)
class FlagPlace:
    """Where a flag is: a section's key, the statement's index in it and the flag's index on it; for a flag
    about the note as a whole, ``section`` is "" and ``statement`` None."""

    section: str
    statement: int | None
    position: int


# --- JSON ----------------------------------------------------------------------------------------


def _flag_to_json(flag: Flag) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "kind": flag.kind.value,
        "message": flag.message,
        "evidence": list(flag.evidence),
        "said": flag.said,
    }
    # Written only when present, so that the flags of notes stored before them read back unchanged.
    if flag.written:
        stored["written"] = flag.written
    if flag.dismissal is not None:
        stored["dismissed"] = {
            "reason": flag.dismissal.reason,
            "by": flag.dismissal.by,
            "by_name": flag.dismissal.by_name,
            "at": flag.dismissal.at,
        }
    return stored


def _statement_to_json(statement: Statement) -> dict[str, Any]:
    return {
        "text": statement.text,
        "evidence": list(statement.evidence),
        "supported": statement.supported,
        "flags": [_flag_to_json(flag) for flag in statement.flags],
    }


def _section_to_json(section: Section) -> dict[str, Any]:
    return {
        "key": section.key,
        "heading": section.heading,
        "text": section.text,
        "evidence": list(section.evidence),
        "flags": [kind.value for kind in section.flag_kinds],
        "statements": [_statement_to_json(statement) for statement in section.statements],
    }


def _segment_ids(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{what} must be a list of segment ids.")
    ids: list[int] = []
    for item in value:
        # bool is an int subclass; True is not a segment id.
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{what} must hold integer segment ids.")
        if item not in ids:
            ids.append(item)
    return tuple(ids)


def _string(value: Any, problem: str) -> str:
    if not isinstance(value, str):
        raise ValueError(problem)
    return value


def _flag_from_json(value: Any, where: str) -> Flag:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object.")
    kind = value.get("kind")
    if kind not in FlagKind.values:
        raise ValueError(f"{where} has no known kind.")
    return Flag(
        kind=FlagKind(kind),
        message=_string(value.get("message", ""), f"{where} needs its message as a string."),
        evidence=_segment_ids(value.get("evidence", []), f"{where} evidence"),
        said=_string(value.get("said", ""), f"{where} needs the words said as a string."),
        written=_string(value.get("written", ""), f"{where} needs the words written as a string."),
        dismissal=_dismissal_from_json(value.get("dismissed"), where),
    )


def _dismissal_from_json(value: Any, where: str) -> Dismissal | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{where} has a dismissal that is not an object.")
    problem = f"{where} needs its dismissal's reason, by, by_name and at as strings."
    return Dismissal(
        reason=_string(value.get("reason"), problem),
        by=_string(value.get("by"), problem),
        by_name=_string(value.get("by_name", ""), problem),
        at=_string(value.get("at"), problem),
    )


def _statement_from_json(value: Any, where: str) -> Statement:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise ValueError(f"{where} needs a text.")
    supported = value.get("supported", False)
    if not isinstance(supported, bool):
        raise ValueError(f"{where} must say whether it is supported (true or false).")
    if "flags" in value:
        raw_flags = value["flags"]
        if not isinstance(raw_flags, list | tuple):
            raise ValueError(f"{where} flags must be a list.")
        flags = tuple(_flag_from_json(flag, f"{where}, flag {n}") for n, flag in enumerate(raw_flags, start=1))
    else:
        # The older shape: a statement without a valid citation was stored as not supported.
        flags = () if supported else (Flag.uncited(),)
    return Statement(
        text=value["text"], evidence=_segment_ids(value.get("evidence", []), f"{where} evidence"), flags=flags
    )


def _section_from_json(value: Any, where: str) -> Section:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object.")
    key = value.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where} needs a key.")
    heading = value.get("heading")
    if not isinstance(heading, str):
        raise ValueError(f"{where} needs a heading.")
    flags = value.get("flags", [])
    if not isinstance(flags, list | tuple) or not all(isinstance(flag, str) for flag in flags):
        raise ValueError(f"{where} flags must be a list of strings.")
    statements = value.get("statements", [])
    if not isinstance(statements, list | tuple):
        raise ValueError(f"{where} statements must be a list.")
    return Section(
        key=key,
        heading=heading,
        text=_string(value.get("text", ""), f"{where} needs its text as a string."),
        evidence=_segment_ids(value.get("evidence", []), f"{where} evidence"),
        statements=tuple(
            _statement_from_json(statement, f"{where}, statement {n}") for n, statement in enumerate(statements, 1)
        ),
        # The other kinds in the section's list summarise its statements' flags and are derived from them.
        edited=FlagKind.EDITED in flags,
    )
