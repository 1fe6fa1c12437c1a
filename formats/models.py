"""A practice's own note formats. The built-in ones are code (``formats.builtin``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Practice, User
from accounts.tenancy import practice_ids_visible_to


def validate_template_sections(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("A template needs at least one section.")
    keys = set()
    for section in value:
        if not isinstance(section, dict) or not {"key", "heading", "instruction"} <= section.keys():
            raise ValidationError("Each section needs a key, a heading and an instruction.")
        if not str(section["key"]).isidentifier():
            raise ValidationError(f"Section key {section['key']!r} must be letters, digits and underscores.")
        if section["key"] in keys:
            raise ValidationError(f"Section key {section['key']!r} is used twice.")
        keys.add(section["key"])


class NoteTemplateQuerySet(models.QuerySet["NoteTemplate"]):
    def visible_to(self, user: User | AnonymousUser) -> NoteTemplateQuerySet:
        return self.filter(practice_id__in=practice_ids_visible_to(user))


class NoteTemplate(models.Model):
    """A practice's own note format: ordered sections, each with a heading and an instruction."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="note_templates")
    key = models.SlugField(max_length=64, help_text="Short identifier used by the API, e.g. 'intake'.")
    name = models.CharField(max_length=100)
    sections = models.JSONField(
        validators=[validate_template_sections],
        help_text='A list of {"key": ..., "heading": ..., "instruction": ...} in display order.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NoteTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["practice", "key"], name="notetemplate_unique_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.practice})"
