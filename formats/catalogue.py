"""The catalogue of note formats a practice can use: the built-in ones and its own."""

from __future__ import annotations

from accounts.models import Practice
from formats.builtin import BUILTIN_TEMPLATES, SectionSpec, TemplateSpec
from formats.models import NoteTemplate


def _from_row(row: NoteTemplate) -> TemplateSpec:
    return TemplateSpec(
        key=row.key,
        name=row.name,
        sections=tuple(SectionSpec(s["key"], s["heading"], s["instruction"]) for s in row.sections),
    )


def available_templates(practice: Practice | None) -> list[TemplateSpec]:
    specs = list(BUILTIN_TEMPLATES.values())
    if practice is not None:
        custom = NoteTemplate.objects.filter(practice=practice).exclude(key__in=BUILTIN_TEMPLATES.keys())
        specs.extend(_from_row(row) for row in custom)
    return specs


def get_template(practice: Practice | None, key: str) -> TemplateSpec | None:
    if key in BUILTIN_TEMPLATES:
        return BUILTIN_TEMPLATES[key]
    if practice is None:
        return None
    row = NoteTemplate.objects.filter(practice=practice, key=key).first()
    return _from_row(row) if row else None


def note_type_choices(practice: Practice | None) -> list[tuple[str, str]]:
    return [(spec.key, spec.name) for spec in available_templates(practice)]
