"""Note templates, notes and their revision history."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Practice, User
from accounts.tenancy import practice_ids_visible_to
from sessions.models import ClinicalSession


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


class NoteQuerySet(models.QuerySet["Note"]):
    def visible_to(self, user: User | AnonymousUser) -> NoteQuerySet:
        return self.filter(session__in=ClinicalSession.objects.visible_to(user))


class Note(models.Model):
    """The note of a session in one format. ``version`` guards every save against lost updates."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(ClinicalSession, on_delete=models.CASCADE, related_name="notes")
    note_type = models.CharField(max_length=64)
    template_name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1)
    # [{"key", "heading", "text", "evidence": [segment ids], "flags": [...]}] in template order.
    sections = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = NoteQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "note_type"], name="note_unique_session_type"),
        ]

    def __str__(self) -> str:
        return f"{self.template_name} note {self.id}"

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED

    def section_texts(self) -> dict[str, str]:
        return {section["key"]: section.get("text", "") for section in self.sections}


class NoteRevision(models.Model):
    """Every saved state of a note, newest last: the history the clinician can read back."""

    class Source(models.TextChoices):
        CREATED = "created", "Created"
        CLINICIAN = "clinician", "Clinician edit"
        AI_DRAFT = "ai_draft", "AI draft"

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    sections = models.JSONField()
    source = models.CharField(max_length=16, choices=Source.choices)
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["note", "version"]
        constraints = [models.UniqueConstraint(fields=["note", "version"], name="noterevision_unique_version")]

    def __str__(self) -> str:
        return f"Revision {self.version} of {self.note_id}"
