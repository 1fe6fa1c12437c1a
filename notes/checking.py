"""The faithfulness checker (``notes.faithfulness``) run over a note's content.

Two moments:

- ``check_draft``: the pipeline's draft, every statement checked against the whole transcript. A statement's
  citation-based ``unsupported`` flag (it cites nothing the transcript has) and the checker's flags are merged,
  one flag per finding: where the checker says what is unsupported, its flag takes the place of the citation one.
  The note's own flags (``omitted_risk``) are set.
- ``check_edits``: a clinician's save. Statements the clinician wrote or changed (they carry ``edited``) are
  checked again, against the whole transcript, for what contradicts the visit: a drug, dose, number, side or
  denial said differently. They are not flagged ``unsupported``: a clinician may write what the recording does
  not hold (what they saw, what they know of the patient). Statements still as drafted keep their flags. The
  note's own flags are worked out again from the whole text.

Either way a flag a clinician dismissed stays dismissed while the same flag (kind and message) is raised again.
Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from notes.content import Flag, FlagKind, NoteContent
from notes.faithfulness import check_note
from notes.faithfulness.transcript import TranscriptIndex, as_segments

# What a clinician's own statement is checked for.
EDIT_CHECKED_KINDS = frozenset(
    {FlagKind.MEDICATION, FlagKind.DOSE, FlagKind.NUMBER, FlagKind.LATERALITY, FlagKind.NEGATION}
)


@dataclass(frozen=True)
class Checked:
    """The content with its flags, and the kinds of the flags this check raised that were not there before."""

    content: NoteContent
    raised: tuple[str, ...]


def check_draft(content: NoteContent, segments: Sequence[Mapping[str, Any]]) -> Checked:
    """Every statement of a drafted note checked against the transcript ``segments`` ({"id", "speaker", "text"})."""
    results = _check(content, segments)
    raised: list[str] = []
    sections = []
    for s_index, section in enumerate(content.sections):
        statements = []
        for t_index, statement in enumerate(section.statements):
            flags = _merge(statement.flags, results.statements.get((s_index, t_index), ()))
            raised.extend(flag.kind.value for flag in flags)
            statements.append(replace(statement, flags=flags))
        sections.append(replace(section, statements=tuple(statements)))
    note_flags = _keep_dismissals(results.note_flags, content.flags)
    raised.extend(flag.kind.value for flag in note_flags)
    return Checked(NoteContent(sections=tuple(sections), flags=note_flags), tuple(raised))


def check_edits(content: NoteContent, segments: Sequence[Mapping[str, Any]]) -> Checked:
    """The statements a clinician wrote or changed, checked again; the note's own flags worked out again."""
    results = _check(content, segments)
    raised: list[str] = []
    sections = []
    for s_index, section in enumerate(content.sections):
        statements = []
        for t_index, statement in enumerate(section.statements):
            edited = [flag for flag in statement.flags if flag.kind == FlagKind.EDITED]
            if not edited:
                statements.append(statement)
                continue
            found = [flag for flag in results.statements.get((s_index, t_index), ()) if flag.kind in EDIT_CHECKED_KINDS]
            flags = _keep_dismissals(tuple(found), statement.flags)
            before = {flag.same_finding for flag in statement.flags}
            raised.extend(flag.kind.value for flag in flags if flag.same_finding not in before)
            statements.append(replace(statement, flags=(edited[0], *flags)))
        sections.append(replace(section, statements=tuple(statements)))
    note_flags = _keep_dismissals(results.note_flags, content.flags)
    before_note = {flag.same_finding for flag in content.flags}
    raised.extend(flag.kind.value for flag in note_flags if flag.same_finding not in before_note)
    return Checked(NoteContent(sections=tuple(sections), flags=note_flags), tuple(raised))


# --- running the checker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Results:
    statements: dict[tuple[int, int], tuple[Flag, ...]]  # by (section index, statement index)
    note_flags: tuple[Flag, ...]


def _check(content: NoteContent, segments: Sequence[Mapping[str, Any]]) -> _Results:
    index = _index(tuple((s.get("id"), str(s.get("speaker") or ""), str(s.get("text", ""))) for s in segments))
    if not index.turns:
        return _Results({}, ())
    ordered = [
        (s_index, t_index)
        for s_index, section in enumerate(content.sections)
        for t_index in range(len(section.statements))
    ]
    result = check_note(
        index,
        [
            (section.key, section.heading, [(statement.text, statement.evidence) for statement in section.statements])
            for section in content.sections
        ],
    )
    # check_note answers one StatementCheck per statement, in the order given.
    statements = {place: checked.flags for place, checked in zip(ordered, result.statements, strict=True)}
    return _Results(statements, result.note_flags)


@lru_cache(maxsize=16)
def _index(segments: tuple[tuple[Any, str, str], ...]) -> TranscriptIndex:
    """The transcript read once per process while it is in use: a clinician's saves and fixes of one note check
    against the same transcript again and again. Keyed by the segments themselves, so a changed transcript is
    read afresh."""
    return TranscriptIndex.build(
        as_segments([{"id": segment_id, "speaker": speaker, "text": text} for segment_id, speaker, text in segments])
    )


def _merge(existing: Iterable[Flag], checked: Iterable[Flag]) -> tuple[Flag, ...]:
    """The statement's own flags and the checker's, one ``unsupported`` at most: the checker's, which says what is
    unsupported, in place of the citation one."""
    existing = tuple(existing)
    checked = tuple(checked)
    checker_unsupported = any(flag.kind == FlagKind.UNSUPPORTED for flag in checked)
    kept = [flag for flag in existing if not (flag.kind == FlagKind.UNSUPPORTED and checker_unsupported)]
    seen = {flag.same_finding for flag in kept}
    for flag in checked:
        if flag.same_finding not in seen:
            kept.append(flag)
            seen.add(flag.same_finding)
    return _keep_dismissals(tuple(kept), existing)


def _keep_dismissals(flags: tuple[Flag, ...], previous: Iterable[Flag]) -> tuple[Flag, ...]:
    dismissed = {flag.same_finding: flag.dismissal for flag in previous if flag.dismissal is not None}
    return tuple(
        replace(flag, dismissal=dismissed[flag.same_finding])
        if flag.dismissal is None and flag.same_finding in dismissed
        else flag
        for flag in flags
    )
