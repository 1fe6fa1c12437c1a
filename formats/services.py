"""Writes to a practice's own formats and to a member's default format.

Every write validates its whole input here (``formats.validation``), whichever door it came through (the
formats page or the API), and refuses with ``FormatInvalid`` naming each problem by field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.entitlements import Feature, feature_require
from accounts.models import Membership, Practice
from formats.builtin import FormatLength
from formats.catalogue import note_type_choices
from formats.models import NoteTemplate
from formats.usage import format_in_use
from formats.validation import (
    MAX_FORMATS_PER_PRACTICE,
    MAX_NAME_LENGTH,
    check_format_key,
    clean_line,
    clean_sections,
)


class FormatInvalid(Exception):
    """The input cannot make a valid format; ``errors`` maps each field (``sections.2.heading``) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


class Removal(StrEnum):
    DELETED = "deleted"
    RETIRED = "retired"


def _clean_common(*, name: Any, length: Any, sections: Any) -> tuple[str, str, list[dict[str, str]]]:
    errors: dict[str, list[str]] = {}
    clean_name = ""
    try:
        clean_name = clean_line(name, what="name", max_length=MAX_NAME_LENGTH)
    except ValidationError as error:
        errors["name"] = list(error.messages)
    if length not in FormatLength.values:
        errors["length"] = [f"Choose one of: {', '.join(FormatLength.values)}."]
    clean, section_errors = clean_sections(sections)
    errors.update(section_errors)
    if errors:
        raise FormatInvalid(errors)
    return clean_name, str(length), clean


@transaction.atomic
def format_create(
    *, practice: Practice, key: Any, name: Any, sections: Any, length: Any = FormatLength.STANDARD
) -> NoteTemplate:
    """A new format of the practice, placed after its others. Raises PlanLimitExceeded when the practice's plan
    leaves out custom formats (billing)."""
    feature_require(practice, Feature.CUSTOM_FORMATS)
    try:
        check_format_key(key)
    except ValidationError as error:
        key_errors = {"key": list(error.messages)}
        try:
            _clean_common(name=name, length=length, sections=sections)
        except FormatInvalid as invalid:
            key_errors.update(invalid.errors)
        raise FormatInvalid(key_errors) from None
    clean_name, clean_length, clean = _clean_common(name=name, length=length, sections=sections)
    existing = NoteTemplate.objects.filter(practice=practice)
    if existing.filter(key=key).exists():
        raise FormatInvalid({"key": [f"The practice already has a format with the key “{key}”."]})
    if existing.count() >= MAX_FORMATS_PER_PRACTICE:
        raise FormatInvalid(
            {"key": [f"A practice has at most {MAX_FORMATS_PER_PRACTICE} formats; retire or delete one first."]}
        )
    position = (existing.aggregate(last=Max("position"))["last"] or 0) + 1
    try:
        with transaction.atomic():
            return NoteTemplate.objects.create(
                practice=practice, key=key, name=clean_name, length=clean_length, sections=clean, position=position
            )
    except IntegrityError:
        # Another request created the same key meanwhile.
        raise FormatInvalid({"key": [f"The practice already has a format with the key “{key}”."]}) from None


def format_update(*, template: NoteTemplate, name: Any, sections: Any, length: Any) -> NoteTemplate:
    """Change the name, length or sections. The key never changes: sessions and notes name the format by it.

    Notes already written keep the sections they were drafted with; the change applies to new drafts.
    """
    clean_name, clean_length, clean = _clean_common(name=name, length=length, sections=sections)
    template.name, template.length, template.sections = clean_name, clean_length, clean
    template.save(update_fields=["name", "length", "sections", "updated_at"])
    return template


def format_retire(*, template: NoteTemplate) -> bool:
    """Stop offering the format for new sessions; False when it already was retired."""
    now = timezone.now()
    changed = NoteTemplate.objects.filter(pk=template.pk, retired_at__isnull=True).update(retired_at=now)
    if changed:
        template.retired_at = now
    return bool(changed)


def format_restore(*, template: NoteTemplate) -> bool:
    """Offer a retired format again; False when it was not retired."""
    changed = NoteTemplate.objects.filter(pk=template.pk, retired_at__isnull=False).update(retired_at=None)
    template.retired_at = None
    return bool(changed)


@transaction.atomic
def format_delete(*, template: NoteTemplate) -> Removal:
    """Delete the format, or retire it when a session or note names it (it must keep resolving for them)."""
    if format_in_use(template.practice, template.key):
        format_retire(template=template)
        return Removal.RETIRED
    template.delete()
    return Removal.DELETED


@transaction.atomic
def format_move(*, template: NoteTemplate, offset: int) -> bool:
    """Move the format ``offset`` places among the practice's formats in use (-1 up, +1 down); False at an end."""
    rows = list(
        NoteTemplate.objects.select_for_update()
        .filter(practice_id=template.practice_id)
        .active()
        .order_by("position", "name", "pk")
    )
    ids = [row.pk for row in rows]
    if template.pk not in ids:
        return False
    index = ids.index(template.pk)
    target = index + offset
    if not 0 <= target < len(rows):
        return False
    rows[index], rows[target] = rows[target], rows[index]
    for position, row in enumerate(rows, start=1):
        if row.position != position:
            NoteTemplate.objects.filter(pk=row.pk).update(position=position)
    return True


def member_default_format_set(*, membership: Membership, key: str) -> None:
    """The format this member's new sessions start with; an empty key returns to the practice's usual one."""
    if key and key not in {k for k, _ in note_type_choices(membership.practice)}:
        raise FormatInvalid({"default_note_type": ["Choose one of the formats offered for new sessions."]})
    membership.default_note_type = key
    membership.save(update_fields=["default_note_type"])
