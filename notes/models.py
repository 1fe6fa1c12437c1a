"""Notes and their revision history."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, User
from config.encrypted_fields import EncryptedJSONField, EncryptedTextField
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
    sections = EncryptedJSONField(default=list)
    # The note's own flags (notes.content.NoteContent.flags): a risk said in the visit that the note omits. They
    # quote the visit, so they are encrypted like the sections.
    flags = EncryptedJSONField(default=list, blank=True)
    # How many flags of each kind still need review ({"medication": 1}): a summary for staff, without note text.
    flag_counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    # Who signed: the person who signed in the pages (the session's clinician, or an owner or admin co-signing as
    # themselves); through the API, the session's clinician, on whose behalf the key's integration signs.
    signed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The API key a signature was made through; empty for a signature in the pages.
    signed_via_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # An AI draft that arrived after the clinician edited or signed the note, kept aside for them to compare
    # and accept: {"draft_ref", "sections" (a NoteContent as JSON), "created_at", "model", "prompt_version"}.
    pending_draft = EncryptedJSONField(null=True, blank=True)
    # The pending draft's draft_ref, empty when none is pending: the encrypted draft cannot be queried, and accepting
    # or dismissing a draft is an update conditional on which draft it is.
    pending_draft_ref = models.CharField(max_length=100, blank=True, default="")
    # The newest AI draft delivered to this note, whether applied, pending or dismissed: a repeated delivery
    # of a draft the clinician dismissed must not bring it back.
    last_draft_ref = models.CharField(max_length=100, blank=True, default="")

    objects = NoteQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "note_type"], name="note_unique_session_type"),
        ]
        # Staff read note and transcript text only through the admin's "Reveal text", giving a reason, which the
        # practice's audit trail records (notes/admin.py).
        permissions = [("reveal_phi", "Can reveal a note's or transcript's text to support a practice")]

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
    def unresolved_flag_count(self) -> int:
        return sum(int(count) for count in self.flag_counts.values()) if isinstance(self.flag_counts, dict) else 0

    @property
    def content(self) -> NoteContent:
        """The sections as a typed value, read afresh; ValueError when the stored JSON is malformed."""
        return NoteContent.from_json(self.sections, self.flags)

    @property
    def has_pending_draft(self) -> bool:
        return bool(self.pending_draft)

    @property
    def is_co_signed(self) -> bool:
        """Signed in the pages by someone other than the session's clinician (an owner or admin)."""
        return self.is_signed and self.signed_via_key_id is None and self.signed_by_id != self.session.clinician_id

    def signer_description(self) -> str:
        """Who signed, in words: "Bob Birch", "Alice Alder (co-signed for Bob Birch)" or "Bob Birch (through the
        API key “EHR sync”)". Empty while the note is not signed."""
        if not self.is_signed:
            return ""
        signer = self.signed_by.display_name if self.signed_by else "a former member of the practice"
        if self.signed_via_key_id is not None:
            key = self.signed_via_key.name if self.signed_via_key else ""
            return f"{signer} (through the API key “{key}”)" if key else f"{signer} (through an API key)"
        if self.is_co_signed:
            return f"{signer} (co-signed for {self.session.clinician.display_name})"
        return signer

    def review_state(self) -> ClinicalSession.ReviewState:
        """Where the note stands for the clinician: amended, signed, needing review (a statement has a flag to
        check) or a draft."""
        if self.is_signed:
            amended = self.addenda.exists()
            return ClinicalSession.ReviewState.AMENDED if amended else ClinicalSession.ReviewState.SIGNED
        try:
            unresolved = bool(self.content.unresolved_flags)
        except ValueError:
            # Content that cannot be read cannot be shown without its flags: it needs a look.
            unresolved = True
        return ClinicalSession.ReviewState.NEEDS_REVIEW if unresolved else ClinicalSession.ReviewState.DRAFT


class NoteRevision(models.Model):
    """Every saved state of a note, newest last: the history the clinician can read back."""

    class Source(models.TextChoices):
        CREATED = "created", "Created"
        CLINICIAN = "clinician", "Clinician edit"
        AI_DRAFT = "ai_draft", "AI draft"

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    sections = EncryptedJSONField()
    flags = EncryptedJSONField(default=list, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The pipeline run that produced an AI draft revision; applying the same draft twice is a no-op.
    draft_ref = models.CharField(max_length=100, blank=True, default="")
    # Where an AI draft came from: {"model", "prompt_version"}; what a clinician did to a flag
    # ({"flag_fixed": kind}, {"flag_dismissed": kind}); and, on the version that was signed with flags still to
    # review, the acknowledgement: {"acknowledged_flags": [{"kind", "section", "statement"}], "acknowledged_by",
    # "acknowledged_at"}. Never note text.
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

    @property
    def flag_events(self) -> list[str]:
        """What this version records about flags, in words: a fix, a dismissal, an acknowledgement at signing."""
        meta = self.meta if isinstance(self.meta, dict) else {}
        events = []
        if meta.get("flag_fixed"):
            events.append(f"a {str(meta['flag_fixed']).replace('_', ' ')} flag fixed from the transcript")
        if meta.get("flag_dismissed"):
            events.append(f"a {str(meta['flag_dismissed']).replace('_', ' ')} flag dismissed")
        acknowledged = meta.get("acknowledged_flags")
        if isinstance(acknowledged, list) and acknowledged:
            count = len(acknowledged)
            events.append(f"signed with {count} flag{'s' if count != 1 else ''} acknowledged")
        return events


class AddendumQuerySet(models.QuerySet["Addendum"]):
    def visible_to(self, user: User | AnonymousUser) -> AddendumQuerySet:
        return self.filter(note__in=Note.objects.visible_to(user))


class Addendum(models.Model):
    """Text appended to a signed note, signed by its author when it is created. The note itself never changes.

    ``author`` is who wrote it: the signed-in person, or, through the API, the session's clinician on whose
    behalf the key's integration writes, with ``api_key`` the key that made it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="addenda")
    text = EncryptedTextField()
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = AddendumQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"Addendum {self.id} to {self.note_id}"

    @property
    def author_name(self) -> str:
        name = self.author.display_name if self.author else "a former member of the practice"
        return f"{name} (through an API key)" if self.api_key_id is not None else name
