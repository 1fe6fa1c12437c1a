"""Writes to notes: opening a session's note and saving a clinician's edits.

Every save is guarded by the note's ``version``: the row is updated only where the version is the one
the clinician started from, so two people editing the same note can never overwrite each other.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from notes.models import Note, NoteRevision
from notes.templates import get_template
from sessions.models import ClinicalSession

EDITED_FLAG = "edited"


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


def note_open(*, session: ClinicalSession, opened_by: User) -> Note:
    """The note of the session in its note format, created with empty sections the first time."""
    existing = Note.objects.filter(session=session, note_type=session.note_type).first()
    if existing is not None:
        return existing

    spec = get_template(session.practice, session.note_type)
    if spec is None:
        raise NoteTemplateUnavailable(session.note_type)
    sections: list[dict[str, Any]] = [
        {"key": s.key, "heading": s.heading, "text": "", "evidence": [], "flags": []} for s in spec.sections
    ]
    try:
        with transaction.atomic():
            note = Note.objects.create(
                session=session, note_type=session.note_type, template_name=spec.name, sections=sections
            )
            NoteRevision.objects.create(
                note=note, version=note.version, sections=sections, source=NoteRevision.Source.CREATED, author=opened_by
            )
    except IntegrityError:
        # Another request created it between our lookup and our insert: theirs is the note.
        return Note.objects.get(session=session, note_type=session.note_type)
    return note


def normalise_section_text(text: str) -> str:
    # Browsers send textarea content with CRLF; stored notes use LF so an untouched section compares equal.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _merged_sections(sections: list[dict[str, Any]], texts: dict[str, str]) -> tuple[list[dict[str, Any]], bool]:
    merged: list[dict[str, Any]] = []
    changed = False
    for section in sections:
        key = section["key"]
        old_text = section.get("text", "")
        if key not in texts or normalise_section_text(texts[key]) == old_text:
            merged.append(section)
            continue
        flags = list(section.get("flags", []))
        if EDITED_FLAG not in flags:
            flags.append(EDITED_FLAG)
        merged.append({**section, "text": normalise_section_text(texts[key]), "flags": flags})
        changed = True
    return merged, changed


def note_save(*, note: Note, version: int, texts: dict[str, str], author: User) -> Note:
    """Save the clinician's section texts over ``version`` of the note.

    Raises NoteLocked for a signed note and NoteConflict when the note has moved past ``version``.
    Texts for keys the note does not have are ignored; when no text changes, nothing is written.
    """
    if note.version != version:
        # The caller's instance may be older than the version being saved over; merge into what that version holds.
        note.refresh_from_db()
    if note.is_signed:
        raise NoteLocked(note)
    if note.version != version:
        raise NoteConflict(note)

    sections, changed = _merged_sections(note.sections, texts)
    if not changed:
        return note

    new_version = version + 1
    now = timezone.now()
    with transaction.atomic():
        updated = Note.objects.filter(pk=note.pk, version=version, status=Note.Status.DRAFT).update(
            sections=sections, version=new_version, updated_at=now
        )
        if updated:
            NoteRevision.objects.create(
                note=note, version=new_version, sections=sections, source=NoteRevision.Source.CLINICIAN, author=author
            )
    if not updated:
        current = Note.objects.get(pk=note.pk)
        if current.is_signed:
            raise NoteLocked(current)
        raise NoteConflict(current)

    note.sections = sections
    note.version = new_version
    note.updated_at = now
    return note
