"""A practice's own note formats. The built-in ones are code (``formats.builtin``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Practice, User
from accounts.tenancy import practice_ids_seen_whole_by, practice_ids_visible_to
from formats.builtin import FormatLength


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
        """Every member of a practice sees its formats."""
        return self.filter(practice_id__in=practice_ids_visible_to(user))

    def managed_by(self, user: User | AnonymousUser) -> NoteTemplateQuerySet:
        """The formats a user may change: their practice's, when they are an owner or admin of it."""
        return self.filter(practice_id__in=practice_ids_seen_whole_by(user))

    def active(self) -> NoteTemplateQuerySet:
        """Formats offered for new sessions; retired ones still lay out the notes already written in them."""
        return self.filter(retired_at__isnull=True)


class NoteTemplate(models.Model):
    """A practice's own note format: ordered sections, each with a heading and an instruction."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="note_templates")
    key = models.SlugField(max_length=64, help_text="Short identifier used by the API, e.g. 'intake'.")
    name = models.CharField(max_length=100)
    sections = models.JSONField(
        validators=[validate_template_sections],
        help_text='A list of {"key": ..., "heading": ..., "instruction": ...} in display order.',
    )
    length = models.CharField(
        max_length=16,
        choices=FormatLength.choices,
        default=FormatLength.STANDARD,
        help_text="How long the drafted note should be; the drafting prompt says so.",
    )
    position = models.PositiveIntegerField(default=0, help_text="Order among the practice's own formats.")
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A retired format is not offered for new sessions; existing notes keep it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NoteTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["practice", "key"], name="notetemplate_unique_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.practice})"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None
