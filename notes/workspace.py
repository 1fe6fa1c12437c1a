"""What the review workspace on the session page shows: the note statement by statement, each with the
transcript segments it cites and its flags, beside the transcript, each segment with the statements citing it.

Built from the note's content (``notes.content``) and the session's transcript; no writes. The page's script
(static/js/review.js) reads the ids these carry: a statement's ``data-evidence`` lists the segments it cites,
and a segment's ``cited_by`` the statements citing it, so the page also works, with links, without the script.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from notes.content import Dismissal, Flag, FlagKind, FlagPlace, NoteContent, Section, Statement
from notes.faithfulness.fixes import replacement
from notes.statements import statements_of
from sessions.media import format_duration
from sessions.models import Transcript

UNCITED_REASON = "No evidence: this statement cites nothing in the transcript. Check it against the session."
MISSING_REASON = "The transcript segments this statement cites are no longer in the transcript."
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SegmentView:
    id: int
    start: float
    start_label: str
    speaker: str
    text: str
    # The statements citing this segment: (their element id, "Plan, statement 2").
    cited_by: list[tuple[str, str]] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return f"segment-{self.id}"

    @property
    def start_attr(self) -> str:
        return f"{self.start:.3f}"


@dataclass(frozen=True)
class FlagView:
    kind: str
    label: str
    message: str
    # The transcript's words behind the flag: as said, else the text of the segments it points to.
    words: str
    evidence: tuple[int, ...]
    # Where the flag is, for the forms that act on it; None when it cannot be acted on from the page (an edited
    # flag, or a statement shown from text that no longer matches its stored statements).
    place: FlagPlace | None = None
    # What the one-click fix puts in place of ``written``; "" when there is no fix.
    fix: str = ""
    written: str = ""
    dismissal: Dismissal | None = None
    # Unique on the page: the ids of the flag's forms and fields start with it.
    dom_id: str = ""

    @property
    def needs_review(self) -> bool:
        return self.kind != FlagKind.EDITED and self.dismissal is None

    @property
    def can_act(self) -> bool:
        return self.place is not None and self.needs_review

    @property
    def dismissed_at(self) -> dt.datetime | None:
        if self.dismissal is None:
            return None
        try:
            return dt.datetime.fromisoformat(self.dismissal.at)
        except ValueError:
            return None


@dataclass(frozen=True)
class StatementView:
    dom_id: str
    number: int
    text: str
    # The cited segments the transcript has, with their start times: [(id, "0:12")].
    evidence: list[tuple[int, str]]
    flags: list[FlagView]
    # Why the statement is marked, when no flag says it: it cites nothing the transcript has.
    evidence_problem: str
    # The words of the cited segments, for the screen reader's description.
    evidence_words: str

    @property
    def evidence_attr(self) -> str:
        return " ".join(str(segment_id) for segment_id, _ in self.evidence)

    @property
    def needs_review(self) -> bool:
        return bool(self.evidence_problem) or any(flag.needs_review for flag in self.flags)

    @property
    def is_edited(self) -> bool:
        return any(flag.kind == FlagKind.EDITED for flag in self.flags)

    @property
    def is_marked(self) -> bool:
        return self.needs_review or self.is_edited


@dataclass(frozen=True)
class SectionView:
    key: str
    heading: str
    dom_id: str
    statements: list[StatementView]
    flag_labels: list[str]
    # The section's textarea in the note's edit form; None when the note is shown without one.
    field: Any = None

    @property
    def review_count(self) -> int:
        return sum(1 for statement in self.statements if statement.needs_review)


@dataclass(frozen=True)
class Workspace:
    sections: list[SectionView]
    segments: list[SegmentView]
    # Flags about the note as a whole (a risk said in the visit that the note leaves out).
    note_flags: list[FlagView] = field(default_factory=list)

    @property
    def review_count(self) -> int:
        return sum(section.review_count for section in self.sections)

    @property
    def note_review_count(self) -> int:
        return sum(1 for flag in self.note_flags if flag.needs_review)

    @property
    def actionable_flags(self) -> list[FlagView]:
        """The flags the page offers to fix or dismiss: each needs a form of its own outside the note's editor."""
        flags = [flag for flag in self.note_flags if flag.can_act]
        for section in self.sections:
            for statement in section.statements:
                flags.extend(flag for flag in statement.flags if flag.can_act)
        return flags

    @property
    def edited_count(self) -> int:
        return sum(1 for section in self.sections for statement in section.statements if statement.is_edited)

    @property
    def statement_count(self) -> int:
        return sum(len(section.statements) for section in self.sections)


def segment_views(transcript: Transcript | None) -> list[SegmentView]:
    if transcript is None:
        return []
    return [
        SegmentView(
            id=int(segment["id"]),
            start=float(segment.get("start") or 0.0),
            start_label=format_duration(float(segment.get("start") or 0.0)),
            speaker=transcript.speaker_label(segment.get("speaker")),
            text=str(segment.get("text", "")),
        )
        for segment in transcript.segments
    ]


def _words(ids: Iterable[int], segments: dict[int, SegmentView]) -> str:
    return " … ".join(segments[i].text.strip() for i in ids if i in segments)


# FlagKind's labels name a section's flags ("Unsupported statements"); on one statement, the singular reads better.
_STATEMENT_LABELS = {FlagKind.UNSUPPORTED: "Unsupported"}


def _flag_view(
    flag: Flag, segments: dict[int, SegmentView], *, place: FlagPlace | None = None, dom_id: str = ""
) -> FlagView:
    # Stored notes cite integer segment ids only (NoteContent.from_json refuses others).
    evidence = tuple(i for i in flag.evidence if isinstance(i, int))
    return FlagView(
        kind=flag.kind.value,
        label=_STATEMENT_LABELS.get(flag.kind, flag.kind.label),
        message=flag.message,
        words=flag.said or _words(evidence, segments),
        evidence=evidence,
        place=place if flag.kind != FlagKind.EDITED else None,
        fix=replacement(flag),
        written=flag.written,
        dismissal=flag.dismissal,
        dom_id=dom_id,
    )


def _statement_view(
    statement: Statement,
    *,
    dom_id: str,
    number: int,
    segments: dict[int, SegmentView],
    has_transcript: bool,
    place: tuple[str, int] | None = None,
) -> StatementView:
    cited = [i for i in statement.evidence if i in segments] if has_transcript else list(statement.evidence)
    flags = [
        _flag_view(
            flag,
            segments,
            place=FlagPlace(place[0], place[1], position) if place is not None else None,
            dom_id=f"{dom_id}-f{position}",
        )
        for position, flag in enumerate(statement.flags)
    ]
    problem = ""
    if not cited and not flags:
        problem = MISSING_REASON if statement.evidence else UNCITED_REASON
    return StatementView(
        dom_id=dom_id,
        number=number,
        text=statement.text,
        evidence=[(i, segments[i].start_label if i in segments else f"#{i}") for i in cited],
        flags=flags,
        evidence_problem=problem,
        evidence_words=_words(cited, segments),
    )


def _section_dom_id(key: str) -> str:
    return "note-" + (_UNSAFE_ID.sub("-", key).strip("-") or "section")


def build_workspace(
    content: NoteContent | None, transcript: Transcript | None, *, fields: dict[str, Any] | None = None
) -> Workspace:
    """The workspace of a note (None: no note yet) and the session's transcript (None: none yet)."""
    segments = segment_views(transcript)
    by_id = {segment.id: segment for segment in segments}
    sections: list[SectionView] = []
    for section in content.sections if content is not None else ():
        sections.append(_section_view(section, by_id, has_transcript=transcript is not None, fields=fields or {}))
    note_flags = [
        _flag_view(flag, by_id, place=FlagPlace("", None, position), dom_id=f"note-flag-{position}")
        for position, flag in enumerate(content.flags if content is not None else ())
    ]
    for section_view in sections:
        for statement in section_view.statements:
            for segment_id, _ in statement.evidence:
                if segment_id in by_id:
                    label = f"{section_view.heading}, statement {statement.number}"
                    by_id[segment_id].cited_by.append((statement.dom_id, label))
    return Workspace(sections=sections, segments=segments, note_flags=note_flags)


def _section_view(
    section: Section, segments: dict[int, SegmentView], *, has_transcript: bool, fields: dict[str, Any]
) -> SectionView:
    dom_id = _section_dom_id(section.key)
    statements: Sequence[Statement] = statements_of(section)
    # A statement shown as stored can be acted on by its place; one matched again from changed text cannot.
    stored = {id(statement): index for index, statement in enumerate(section.statements)}
    return SectionView(
        key=section.key,
        heading=section.heading,
        dom_id=dom_id,
        statements=[
            _statement_view(
                statement,
                dom_id=f"{dom_id}-s{number}",
                number=number,
                segments=segments,
                has_transcript=has_transcript,
                place=(section.key, stored[id(statement)]) if id(statement) in stored else None,
            )
            for number, statement in enumerate(statements, start=1)
        ],
        flag_labels=[kind.label for kind in section.flag_kinds],
        field=fields.get(section.key),
    )
