"""Writes to notes: opening a session's note, saving a clinician's edits, putting an AI draft into it,
and signing it.

Every save is guarded by the note's ``version``: the row is updated only where the version is the one
the clinician started from, so two people editing the same note can never overwrite each other. An AI
draft never replaces text a clinician wrote: once they have edited the note, or signed it, a new draft is
kept aside as ``pending_draft`` for them to compare and accept.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import replace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ApiKey, User
from formats.catalogue import get_template
from notes.checking import check_edits
from notes.content import DISMISSAL_REASON_MAX_CHARS, Dismissal, Flag, FlagPlace, NoteContent, normalise_section_text
from notes.faithfulness.fixes import fixed_text
from notes.faithfulness.metrics import record_flags
from notes.models import Addendum, Note, NoteRevision
from notes.statements import rederive_statements, statement_key
from sessions.models import ClinicalSession, Transcript
from sessions.services import session_set_review_state

logger = logging.getLogger(__name__)

# A guarded write that keeps losing races to other writers gives up rather than spin.
MAX_DRAFT_ATTEMPTS = 5
# An addendum corrects or completes a signed note; a page of text is plenty, and keeps exports readable.
ADDENDUM_MAX_CHARS = 5_000
# Control characters other than tab and line breaks paste as junk into a record system, or hide text.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


class NoteTemplateUnavailable(Exception):
    """The session asks for a note format its practice does not have (for example a deleted custom one)."""

    def __init__(self, note_type: str) -> None:
        super().__init__(f"No note template with key {note_type!r} is available to this practice.")
        self.note_type = note_type


class NoteConflict(Exception):
    """The note was saved by someone else since the given version was read; nothing was written."""

    def __init__(self, current: Note) -> None:
        super().__init__(f"Note {current.pk} is at version {current.version}.")
        self.current = current


class NoteLocked(Exception):
    """The note is signed and can no longer be edited."""

    def __init__(self, current: Note) -> None:
        super().__init__(f"Note {current.pk} is signed.")
        self.current = current


class NoteNotSigned(Exception):
    """An addendum belongs to a signed note; this one is still a draft, to be edited instead."""

    def __init__(self, current: Note) -> None:
        super().__init__(f"Note {current.pk} is not signed.")
        self.current = current


class NoteFlagsUnresolved(Exception):
    """Signing a note whose flags still need review asks for an explicit acknowledgement; none was given."""

    def __init__(self, current: Note, flags: list[tuple[FlagPlace, Flag]]) -> None:
        super().__init__(f"Note {current.pk} has {len(flags)} flag(s) to review before signing.")
        self.current = current
        self.flags = flags


class FlagUnavailable(Exception):
    """The flag asked for is not on this version of the note, or cannot be acted on as asked (no fix for it, or
    its words are no longer in the statement)."""

    def __init__(self, current: Note, reason: str) -> None:
        super().__init__(reason)
        self.current = current
        self.reason = reason


class NoteDraftUnavailable(Exception):
    """The AI draft asked for is not the one pending on the note (accepted, dismissed or superseded)."""

    def __init__(self, current: Note) -> None:
        super().__init__(f"Note {current.pk} has no such pending AI draft.")
        self.current = current


def stored_content(content: NoteContent) -> dict[str, Any]:
    """The note's fields that hold its content: the sections, the note's own flags, and the counts of flags to
    review per kind (for staff, who never see the text)."""
    counts: dict[str, int] = {}
    for flag in content.unresolved_flags:
        counts[flag.kind.value] = counts.get(flag.kind.value, 0) + 1
    return {"sections": content.to_json(), "flags": content.flags_to_json(), "flag_counts": counts}


def transcript_segments(note: Note) -> list[dict[str, Any]] | None:
    """The segments of the note's session's transcript, or None when the session has none."""
    transcript = Transcript.objects.filter(session_id=note.session_id).only("segments").first()
    return list(transcript.segments) if transcript is not None else None


def unresolved_flags(note: Note) -> list[tuple[FlagPlace, Flag]]:
    """The note's flags still to review, with where they are."""
    return [(place, flag) for place, flag in note.content.flags_with_places() if flag.needs_review]


def _record_review_state(note: Note) -> None:
    """Tell the session where its note stands (sessions shows it, and filters its list by it)."""
    session_set_review_state(session_id=note.session_id, note_type=note.note_type, review_state=note.review_state())


def note_open(*, session: ClinicalSession, opened_by: User) -> Note:
    """The note of the session in its note format, created with empty sections the first time."""
    existing = Note.objects.filter(session=session, note_type=session.note_type).first()
    if existing is not None:
        # The session's format may have changed back to this note's since its state was recorded.
        _record_review_state(existing)
        return existing

    spec = get_template(session.practice, session.note_type)
    if spec is None:
        raise NoteTemplateUnavailable(session.note_type)
    fields = stored_content(NoteContent.empty((s.key, s.heading) for s in spec.sections))
    try:
        with transaction.atomic():
            note = Note.objects.create(session=session, note_type=session.note_type, template_name=spec.name, **fields)
            NoteRevision.objects.create(
                note=note,
                version=note.version,
                sections=fields["sections"],
                flags=fields["flags"],
                source=NoteRevision.Source.CREATED,
                author=opened_by,
            )
            _record_review_state(note)
    except IntegrityError:
        # Another request created it between our lookup and our insert: theirs is the note.
        return Note.objects.get(session=session, note_type=session.note_type)
    return note


def _edited_content(note: Note, texts: dict[str, str]) -> NoteContent | None:
    """The note's content with the given section texts, each changed section's statements derived again from
    its text (``notes.statements``); None when no text changes."""
    content = note.content
    sections = []
    changed = False
    for section in content.sections:
        if section.key in texts and normalise_section_text(texts[section.key]) != section.text:
            sections.append(rederive_statements(section, texts[section.key]))
            changed = True
        else:
            sections.append(section)
    return NoteContent(sections=tuple(sections)) if changed else None


def note_save(*, note: Note, version: int, texts: dict[str, str], author: User) -> Note:
    """Save the clinician's section texts over ``version`` of the note.

    A changed section is marked edited and its statements are derived again from its text: those that are still
    drafted statements keep their evidence and flags, the others are marked ``edited`` (``notes.statements``) and
    checked again against the session's transcript (``notes.checking.check_edits``), as are the note's own flags.
    Raises NoteLocked for a signed note and NoteConflict when the note has moved past ``version``.
    Texts for keys the note does not have are ignored; when no text changes, nothing is written.
    """
    _current_draft(note, version)
    edited = _edited_content(note, texts)
    if edited is None:
        return note
    return _save_checked(note=note, version=version, content=edited, author=author, meta={})


def _current_draft(note: Note, version: int) -> None:
    """Make sure ``note`` is the draft at ``version``: NoteLocked when it is signed, NoteConflict when it moved on."""
    if note.version != version:
        # The caller's instance may be older than the version being saved over; merge into what that version holds.
        note.refresh_from_db()
    if note.is_signed:
        raise NoteLocked(note)
    if note.version != version:
        raise NoteConflict(note)


def _save_checked(*, note: Note, version: int, content: NoteContent, author: User, meta: dict[str, Any]) -> Note:
    """Check the clinician's statements of ``content`` against the transcript and save it as a new version."""
    segments = transcript_segments(note)
    if segments is not None:
        checked = check_edits(content, segments)
        content = checked.content
        record_flags(checked.raised)
    return _write_clinician_version(note=note, version=version, content=content, author=author, meta=meta)


def _write_clinician_version(
    *, note: Note, version: int, content: NoteContent, author: User, meta: dict[str, Any]
) -> Note:
    """Write ``content`` as the version after ``version``, with its revision; the guard against lost updates."""
    fields = stored_content(content)
    new_version = version + 1
    now = timezone.now()
    with transaction.atomic():
        updated = Note.objects.filter(pk=note.pk, version=version, status=Note.Status.DRAFT).update(
            **fields, version=new_version, updated_at=now
        )
        if updated:
            NoteRevision.objects.create(
                note=note,
                version=new_version,
                sections=fields["sections"],
                flags=fields["flags"],
                source=NoteRevision.Source.CLINICIAN,
                author=author,
                meta=meta,
            )
            _set_fields(note, fields)
            _record_review_state(note)
    if not updated:
        current = Note.objects.get(pk=note.pk)
        if current.is_signed:
            raise NoteLocked(current)
        raise NoteConflict(current)

    _set_fields(note, fields)
    note.version = new_version
    note.updated_at = now
    return note


def _set_fields(note: Note, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(note, name, value)


# --- flags ---------------------------------------------------------------------------------------


def note_fix_flag(*, note: Note, version: int, place: FlagPlace, author: User) -> Note:
    """Put the transcript's words in place of the statement's, as the flag at ``place`` proposes
    (``notes.faithfulness.fixes``), saved as the clinician's edit over ``version``.

    The fixed statement cites the segments it cited and those of the flag, and is checked again like any edit.
    Raises NoteLocked, NoteConflict, and FlagUnavailable when there is no such flag or no fix for it.
    """
    _current_draft(note, version)
    content = note.content
    flag = content.flag_at(place)
    if flag is None or place.statement is None:
        raise FlagUnavailable(note, "That flag is not on this version of the note.")
    section = next(section for section in content.sections if section.key == place.section)
    statement = section.statements[place.statement]
    new_statement = fixed_text(statement.text, flag)
    if new_statement is None:
        raise FlagUnavailable(note, "The transcript gives nothing specific to put in place of these words.")
    new_text = _replace_statement(section.text, [s.text for s in section.statements], place.statement, new_statement)
    if new_text is None:
        raise FlagUnavailable(note, "The statement is no longer in the section's text.")
    edited = _edited_content(note, {section.key: new_text})
    if edited is None:
        raise FlagUnavailable(note, "The fix changes nothing.")
    evidence = tuple(dict.fromkeys((*statement.evidence, *(i for i in flag.evidence if isinstance(i, int)))))
    edited = _with_evidence(edited, section.key, statement_key(new_statement), evidence)
    fixed = _save_checked(
        note=note, version=version, content=edited, author=author, meta={"flag_fixed": flag.kind.value}
    )
    logger.info("%s flag fixed on note %s by user %s", flag.kind.value, note.pk, author.pk)
    return fixed


def _replace_statement(text: str, statements: list[str], number: int, new: str) -> str | None:
    """The section's text with its ``number``-th statement replaced: statements appear in order in the text."""
    cursor = 0
    for position, statement in enumerate(statements):
        found = text.find(statement, cursor)
        if found < 0:
            return None
        if position == number:
            return text[:found] + new + text[found + len(statement) :]
        cursor = found + len(statement)
    return None


def _with_evidence(content: NoteContent, key: str, text_key: str, evidence: tuple[int, ...]) -> NoteContent:
    sections = []
    for section in content.sections:
        if section.key != key:
            sections.append(section)
            continue
        statements = tuple(
            replace(statement, evidence=evidence) if statement_key(statement.text) == text_key else statement
            for statement in section.statements
        )
        cited = tuple(sorted({i for statement in statements for i in statement.evidence if isinstance(i, int)}))
        sections.append(replace(section, statements=statements, evidence=cited))
    return replace(content, sections=tuple(sections))


def clean_dismissal_reason(reason: str) -> str:
    """The reason as stored. Raises ValueError, with a message for the clinician, when it is empty or too long."""
    reason = " ".join(_CONTROL_CHARACTERS.sub(" ", normalise_section_text(reason)).split())
    if not reason:
        raise ValueError("Say in a few words why the flag needs nothing done.")
    if len(reason) > DISMISSAL_REASON_MAX_CHARS:
        raise ValueError(f"A reason holds at most {DISMISSAL_REASON_MAX_CHARS} characters.")
    return reason


def note_dismiss_flag(*, note: Note, version: int, place: FlagPlace, reason: str, author: User) -> Note:
    """Record that the flag at ``place`` needs nothing done, with why, who and when, as a new version over
    ``version``. The flag stays, shown as dismissed, and no longer counts as one to review.

    Raises ValueError for a reason ``clean_dismissal_reason`` refuses, NoteLocked, NoteConflict, and
    FlagUnavailable when there is no such flag or it is already dismissed.
    """
    reason = clean_dismissal_reason(reason)
    _current_draft(note, version)
    content = note.content
    flag = content.flag_at(place)
    if flag is None or not flag.needs_review:
        raise FlagUnavailable(note, "That flag is not on this version of the note, or needs no review.")
    dismissal = Dismissal(reason=reason, by=str(author.pk), by_name=author.display_name, at=timezone.now().isoformat())
    dismissed = _write_clinician_version(
        note=note,
        version=version,
        content=content.with_flag(place, replace(flag, dismissal=dismissal)),
        author=author,
        meta={"flag_dismissed": flag.kind.value},
    )
    logger.info("%s flag dismissed on note %s by user %s", flag.kind.value, note.pk, author.pk)
    return dismissed


# --- AI drafts -----------------------------------------------------------------------------------


def _draft_already_delivered(note: Note, draft_ref: str) -> bool:
    pending = note.pending_draft or {}
    return (
        note.last_draft_ref == draft_ref
        or pending.get("draft_ref") == draft_ref
        or NoteRevision.objects.filter(note=note, draft_ref=draft_ref).exists()
    )


def _clinician_has_edited(note: Note) -> bool:
    return NoteRevision.objects.filter(note=note, source=NoteRevision.Source.CLINICIAN).exists()


def _create_drafted_note(
    *, session: ClinicalSession, fields: dict[str, Any], draft_ref: str, meta: dict[str, str]
) -> Note | None:
    """The new note holding the draft, or None when another writer created the session's note first."""
    spec = get_template(session.practice, session.note_type)
    if spec is None:
        raise NoteTemplateUnavailable(session.note_type)
    try:
        with transaction.atomic():
            note = Note.objects.create(
                session=session,
                note_type=session.note_type,
                template_name=spec.name,
                last_draft_ref=draft_ref,
                **fields,
            )
            NoteRevision.objects.create(
                note=note,
                version=note.version,
                sections=fields["sections"],
                flags=fields["flags"],
                source=NoteRevision.Source.AI_DRAFT,
                draft_ref=draft_ref,
                meta=meta,
            )
            _record_review_state(note)
    except IntegrityError:
        return None
    return note


def _replace_with_draft(*, note: Note, fields: dict[str, Any], draft_ref: str, meta: dict[str, str]) -> Note | None:
    """The note with the draft as its new version, or None when the note moved since it was read."""
    version = note.version
    new_version = version + 1
    now = timezone.now()
    with transaction.atomic():
        updated = Note.objects.filter(pk=note.pk, version=version, status=Note.Status.DRAFT).update(
            **fields,
            version=new_version,
            last_draft_ref=draft_ref,
            pending_draft=None,
            pending_draft_ref="",
            updated_at=now,
        )
        if updated:
            NoteRevision.objects.create(
                note=note,
                version=new_version,
                sections=fields["sections"],
                flags=fields["flags"],
                source=NoteRevision.Source.AI_DRAFT,
                draft_ref=draft_ref,
                meta=meta,
            )
            _set_fields(note, fields)
            _record_review_state(note)
    if not updated:
        return None
    _set_fields(note, fields)
    note.version = new_version
    note.last_draft_ref = draft_ref
    note.pending_draft = None
    note.pending_draft_ref = ""
    note.updated_at = now
    return note


def _keep_draft_pending(*, note: Note, fields: dict[str, Any], draft_ref: str, meta: dict[str, str]) -> Note:
    # Only the pending draft changes: the clinician's sections and version stay exactly as they are, and
    # a newer draft simply takes the place of an older one nobody accepted.
    pending = {
        "draft_ref": draft_ref,
        "sections": fields["sections"],
        "flags": fields["flags"],
        "created_at": timezone.now().isoformat(),
        **meta,
    }
    Note.objects.filter(pk=note.pk).update(pending_draft=pending, pending_draft_ref=draft_ref, last_draft_ref=draft_ref)
    note.pending_draft = pending
    note.pending_draft_ref = draft_ref
    note.last_draft_ref = draft_ref
    return note


def note_apply_draft(
    *, session: ClinicalSession, draft: NoteContent, draft_ref: str, model: str, prompt_version: str
) -> Note:
    """Put an AI draft into the session's note, never over a clinician's work.

    ``draft`` is stored as it is: its citations were checked and its flags set when it was built (the pipeline
    runs the faithfulness checker over it first, ``notes.checking.check_draft``).
    ``draft_ref`` identifies the pipeline run, and delivering the same one again changes nothing. With no note
    yet, the note is created from the draft. A note nobody has edited gets the draft as a new version. A note a
    clinician has edited, or a signed one, keeps its text and holds the draft as ``pending_draft``.

    Raises ValueError without a ``draft_ref`` and NoteTemplateUnavailable when the session's format is gone.
    """
    if not draft_ref:
        raise ValueError("An AI draft needs a draft_ref.")
    fields = stored_content(draft)
    meta = {"model": model, "prompt_version": prompt_version}
    note: Note | None = None
    for _ in range(MAX_DRAFT_ATTEMPTS):
        note = Note.objects.filter(session=session, note_type=session.note_type).first()
        if note is None:
            created = _create_drafted_note(session=session, fields=fields, draft_ref=draft_ref, meta=meta)
            if created is not None:
                return created
            continue
        if _draft_already_delivered(note, draft_ref):
            return note
        if note.is_signed or _clinician_has_edited(note):
            return _keep_draft_pending(note=note, fields=fields, draft_ref=draft_ref, meta=meta)
        replaced = _replace_with_draft(note=note, fields=fields, draft_ref=draft_ref, meta=meta)
        if replaced is not None:
            return replaced
    # Only a note rewritten by others on every attempt gets here; the caller may retry later.
    current = note if note is not None else Note.objects.get(session=session, note_type=session.note_type)
    current.refresh_from_db()
    raise NoteConflict(current)


def _refused_draft_write(note: Note, draft_ref: str) -> Exception:
    current = Note.objects.get(pk=note.pk)
    if current.is_signed:
        return NoteLocked(current)
    if (current.pending_draft or {}).get("draft_ref") != draft_ref:
        return NoteDraftUnavailable(current)
    return NoteConflict(current)


def note_accept_draft(*, note: Note, version: int, author: User, draft_ref: str | None = None) -> Note:
    """Make the pending AI draft the note's text, as a new version over ``version``.

    With ``draft_ref``, only that draft is accepted, so a clinician never accepts a newer draft than the one
    they compared. Raises NoteLocked for a signed note, NoteDraftUnavailable when no such draft is pending and
    NoteConflict when the note has moved past ``version``.
    """
    note.refresh_from_db()
    if note.is_signed:
        raise NoteLocked(note)
    pending = note.pending_draft
    if not pending or (draft_ref is not None and pending.get("draft_ref") != draft_ref):
        raise NoteDraftUnavailable(note)
    if note.version != version:
        raise NoteConflict(note)

    accepted_ref = str(pending["draft_ref"])
    # A pending draft kept before notes had flags of their own has none.
    fields = stored_content(NoteContent.from_json(pending["sections"], pending.get("flags")))
    meta = {"model": str(pending.get("model", "")), "prompt_version": str(pending.get("prompt_version", ""))}
    new_version = version + 1
    now = timezone.now()
    with transaction.atomic():
        updated = Note.objects.filter(
            pk=note.pk, version=version, status=Note.Status.DRAFT, pending_draft_ref=accepted_ref
        ).update(**fields, version=new_version, pending_draft=None, pending_draft_ref="", updated_at=now)
        if updated:
            NoteRevision.objects.create(
                note=note,
                version=new_version,
                sections=fields["sections"],
                flags=fields["flags"],
                source=NoteRevision.Source.AI_DRAFT,
                author=author,
                draft_ref=accepted_ref,
                meta=meta,
            )
            _set_fields(note, fields)
            _record_review_state(note)
    if not updated:
        raise _refused_draft_write(note, accepted_ref)

    _set_fields(note, fields)
    note.version = new_version
    note.pending_draft = None
    note.pending_draft_ref = ""
    note.updated_at = now
    return note


def note_dismiss_draft(*, note: Note, author: User, draft_ref: str | None = None) -> Note:
    """Drop the pending AI draft; the note's text is untouched. Dismissing when none is pending does nothing.

    With ``draft_ref``, only that draft is dismissed: a newer one that arrived meanwhile raises
    NoteDraftUnavailable and stays pending.
    """
    pending_drafts = Note.objects.filter(pk=note.pk, pending_draft__isnull=False)
    if draft_ref is not None:
        pending_drafts = pending_drafts.filter(pending_draft_ref=draft_ref)
    dismissed = pending_drafts.update(pending_draft=None, pending_draft_ref="")
    note.refresh_from_db()
    if dismissed:
        logger.info("AI draft dismissed on note %s by user %s", note.pk, author.pk)
    elif note.pending_draft:
        raise NoteDraftUnavailable(note)
    return note


# --- sign-off ------------------------------------------------------------------------------------


def note_sign(
    *,
    note: Note,
    version: int,
    signed_by: User,
    api_key: ApiKey | None = None,
    acknowledge_flags: bool = False,
) -> Note:
    """Sign ``version`` of the note; from then on it is read-only.

    ``signed_by`` is who signs: in the pages the signed-in person (the session's clinician, or an owner or admin
    co-signing as themselves); through the API, the session's clinician, with ``api_key`` the key that signed on
    their behalf. Raises NoteLocked when it is already signed and NoteConflict when the note has moved past
    ``version``, so nobody signs text they have not seen.

    A note with flags still to review is signed only with ``acknowledge_flags`` (else NoteFlagsUnresolved, naming
    them); the acknowledgement is recorded in the signed version's revision (its ``meta``: the kinds and places of
    the flags, who acknowledged them and when).
    """
    note.refresh_from_db()
    if note.is_signed:
        raise NoteLocked(note)
    if note.version != version:
        raise NoteConflict(note)
    flags = unresolved_flags(note)
    if flags and not acknowledge_flags:
        raise NoteFlagsUnresolved(note, flags)

    now = timezone.now()
    with transaction.atomic():
        updated = Note.objects.filter(pk=note.pk, version=version, status=Note.Status.DRAFT).update(
            status=Note.Status.SIGNED, signed_at=now, signed_by=signed_by, signed_via_key=api_key, updated_at=now
        )
        if updated:
            session_set_review_state(
                session_id=note.session_id, note_type=note.note_type, review_state=ClinicalSession.ReviewState.SIGNED
            )
            if flags:
                _record_acknowledgement(note, version, flags, signed_by, now)
    if not updated:
        current = Note.objects.get(pk=note.pk)
        if current.is_signed:
            raise NoteLocked(current)
        raise NoteConflict(current)
    logger.info(
        "note %s signed at version %s by user %s%s",
        note.pk,
        version,
        signed_by.pk,
        f" through API key {api_key.prefix}" if api_key else "",
    )
    note.status = Note.Status.SIGNED
    note.signed_at = now
    note.signed_by = signed_by
    note.signed_via_key = api_key
    note.updated_at = now
    return note


def _record_acknowledgement(
    note: Note, version: int, flags: list[tuple[FlagPlace, Flag]], by: User, at: datetime.datetime
) -> None:
    """Write into the signed version's revision which flags were acknowledged at signing: kinds and places only,
    never their words (revision meta holds no note text)."""
    revision = NoteRevision.objects.select_for_update().filter(note=note, version=version).first()
    if revision is None:
        return
    meta = dict(revision.meta or {})
    meta["acknowledged_flags"] = [
        {"kind": flag.kind.value, "section": place.section, "statement": place.statement} for place, flag in flags
    ]
    meta["acknowledged_by"] = str(by.pk)
    meta["acknowledged_at"] = at.isoformat()
    NoteRevision.objects.filter(pk=revision.pk).update(meta=meta)


# --- addenda -------------------------------------------------------------------------------------


def clean_addendum_text(text: str) -> str:
    """The addendum's text as it is stored (line breaks as LF, no surrounding blank space).

    Raises ValueError, with a message for the person who wrote it, for an empty or too long text or one with
    control characters.
    """
    text = normalise_section_text(text).strip()
    if not text:
        raise ValueError("Write the addendum's text.")
    if len(text) > ADDENDUM_MAX_CHARS:
        raise ValueError(f"An addendum holds at most {ADDENDUM_MAX_CHARS:,} characters; this one has {len(text):,}.")
    if _CONTROL_CHARACTERS.search(text):
        raise ValueError("The text holds control characters (invisible characters that are not text): remove them.")
    return text


def note_add_addendum(*, note: Note, text: str, author: User, api_key: ApiKey | None = None) -> Addendum:
    """Append an addendum to a signed note, signed by ``author`` now; the note itself is unchanged.

    ``author`` is the signed-in person, or through the API the session's clinician with ``api_key`` the key that
    wrote on their behalf. Raises NoteNotSigned for a note that is still a draft (edit it instead) and
    ValueError for a text ``clean_addendum_text`` refuses.
    """
    text = clean_addendum_text(text)
    with transaction.atomic():
        current = Note.objects.select_for_update().get(pk=note.pk)
        if not current.is_signed:
            raise NoteNotSigned(current)
        addendum = Addendum.objects.create(note=current, text=text, author=author, api_key=api_key)
        session_set_review_state(
            session_id=current.session_id, note_type=current.note_type, review_state=ClinicalSession.ReviewState.AMENDED
        )
    logger.info("addendum %s added to note %s by user %s", addendum.pk, note.pk, author.pk)
    return addendum
