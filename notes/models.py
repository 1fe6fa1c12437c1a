"""Notes and their revision history."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.db import models

from accounts.models import User
from notes.content import NoteContent
from sessions.models import ClinicalSession


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
    # A NoteContent as JSON (notes.content): [{"key", "heading", "text", "evidence", "flags", "statements"}].
    sections = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # An AI draft that arrived after the clinician edited or signed the note, kept aside for them to compare
    # and accept: {"draft_ref", "sections" (a NoteContent as JSON), "created_at", "model", "prompt_version"}.
    pending_draft = models.JSONField(null=True, blank=True)
    # The newest AI draft delivered to this note, whether applied, pending or dismissed: a repeated delivery
    # of a draft the clinician dismissed must not bring it back.
    last_draft_ref = models.CharField(max_length=100, blank=True, default="")

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

    def holds_ai_draft(self) -> bool:
        """Whether an AI draft ever went into the note; a note written by hand from the start holds none."""
        return self.revisions.filter(source=NoteRevision.Source.AI_DRAFT).exists()

    def section_texts(self) -> dict[str, str]:
        return {section["key"]: section.get("text", "") for section in self.sections}

    @property
    def content(self) -> NoteContent:
        """The sections as a typed value, read afresh; ValueError when the stored JSON is malformed."""
        return NoteContent.from_json(self.sections)

    @property
    def has_pending_draft(self) -> bool:
        return bool(self.pending_draft)


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
    # The pipeline run that produced an AI draft revision; applying the same draft twice is a no-op.
    draft_ref = models.CharField(max_length=100, blank=True, default="")
    # Where an AI draft came from: {"model", "prompt_version"}. Never note text.
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["note", "version"]
        constraints = [
            models.UniqueConstraint(fields=["note", "version"], name="noterevision_unique_version"),
            models.UniqueConstraint(
                fields=["note", "draft_ref"],
                condition=~models.Q(draft_ref=""),
                name="noterevision_unique_draft_ref",
            ),
        ]

    def __str__(self) -> str:
        return f"Revision {self.version} of {self.note_id}"
