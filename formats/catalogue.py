"""The catalogue of note formats a practice can use: the built-in ones and its own.

Retired formats are not offered for new sessions, but ``get_template`` still finds them: the notes and
sessions written in one keep their layout.
"""

from __future__ import annotations

from accounts.models import Membership, Practice
from formats.builtin import BUILTIN_TEMPLATES, SectionSpec, TemplateSpec
from formats.models import NoteTemplate

DEFAULT_NOTE_TYPE = "soap"


def spec_from_row(row: NoteTemplate) -> TemplateSpec:
    return TemplateSpec(
        key=row.key,
        name=row.name,
        sections=tuple(SectionSpec(s["key"], s["heading"], s["instruction"]) for s in row.sections),
        length=row.length,
    )


def practice_formats(practice: Practice, *, include_retired: bool = False) -> list[NoteTemplate]:
    """The practice's own formats in the order its owners chose."""
    rows = NoteTemplate.objects.filter(practice=practice).exclude(key__in=BUILTIN_TEMPLATES.keys())
    if not include_retired:
        rows = rows.active()
    return list(rows.order_by("position", "name"))


def available_templates(practice: Practice | None, *, include_retired: bool = False) -> list[TemplateSpec]:
    specs = list(BUILTIN_TEMPLATES.values())
    if practice is not None:
        specs.extend(spec_from_row(row) for row in practice_formats(practice, include_retired=include_retired))
    return specs


def get_template(practice: Practice | None, key: str) -> TemplateSpec | None:
    """The format named ``key``, retired or not."""
    if key in BUILTIN_TEMPLATES:
        return BUILTIN_TEMPLATES[key]
    if practice is None:
        return None
    row = NoteTemplate.objects.filter(practice=practice, key=key).first()
    return spec_from_row(row) if row else None


def note_type_choices(
    practice: Practice | None, *, include_retired: bool = False, keep: str | None = None
) -> list[tuple[str, str]]:
    """(key, name) of the formats offered for new sessions. ``include_retired`` adds the retired ones (to name
    and filter existing sessions); ``keep`` adds just that one when it is retired, so that a session already in
    a retired format can be saved without changing it."""
    if practice is None:
        return [(spec.key, spec.name) for spec in BUILTIN_TEMPLATES.values()]
    rows = practice_formats(practice, include_retired=True)
    choices = [(spec.key, spec.name) for spec in BUILTIN_TEMPLATES.values()]
    for row in rows:
        if row.retired_at is None or include_retired or row.key == keep:
            choices.append((row.key, f"{row.name} (retired)" if row.retired_at and not include_retired else row.name))
    return choices


def default_note_type(membership: Membership | None) -> str:
    """The format a member's new session starts with: their own default while it is still offered, else SOAP."""
    key = membership.default_note_type if membership is not None else ""
    if not key or key in BUILTIN_TEMPLATES:
        return key or DEFAULT_NOTE_TYPE
    assert membership is not None
    offered = NoteTemplate.objects.filter(practice_id=membership.practice_id, key=key).active().exists()
    return key if offered else DEFAULT_NOTE_TYPE
