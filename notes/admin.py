"""Staff views of notes: metadata only. Note text is clinical content and stays out of the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from notes.models import Addendum, Note, NoteRevision


class NoteRevisionInline(admin.TabularInline[NoteRevision, Note]):
    model = NoteRevision
    fields = ("version", "source", "author", "draft_ref", "meta", "created_at")
    readonly_fields = fields
    exclude = ("sections", "flags")
    extra = 0
    can_delete = False
    ordering = ("-version",)
    verbose_name_plural = "revisions (text not shown)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[NoteRevision]:
        return super().get_queryset(request).defer("sections", "flags").select_related("author")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AddendumInline(admin.TabularInline[Addendum, Note]):
    model = Addendum
    fields = ("id", "author", "api_key", "created_at")
    readonly_fields = fields
    # The text is clinical content, like the note's.
    exclude = ("text",)
    extra = 0
    can_delete = False
    verbose_name_plural = "addenda (text not shown)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Addendum]:
        return super().get_queryset(request).defer("text").select_related("author", "api_key")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin[Note]):
    list_display = ("id", "session", "note_type", "status", "version", "flags_to_review", "updated_at")
    list_filter = ("status", "note_type")
    search_fields = ("id", "session__id")
    list_select_related = ("session",)
    # Pending AI drafts hold note text just as sections do, and flags quote it.
    exclude = ("sections", "pending_draft", "flags", "flag_counts")
    readonly_fields = (
        "id",
        "session",
        "note_type",
        "template_name",
        "status",
        "version",
        "created_at",
        "updated_at",
        "signed_at",
        "signed_by",
        "signed_via_key",
        "has_pending_draft",
        "last_draft_ref",
        "flags_to_review",
    )
    inlines = (NoteRevisionInline, AddendumInline)
    ordering = ("-updated_at",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Note]:
        return super().get_queryset(request).defer("sections", "flags", "pending_draft")

    @admin.display(description="Flags to review")
    def flags_to_review(self, obj: Note) -> str:
        """How many flags of each kind the note still has to review: counts only, never their words."""
        counts = obj.flag_counts if isinstance(obj.flag_counts, dict) else {}
        return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()) if count) or "—"

    @admin.display(boolean=True, description="AI draft waiting for review")
    def has_pending_draft(self, obj: Note) -> bool:
        return obj.has_pending_draft

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Notes are created from a session by the note service, never by hand.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Note | None = None) -> bool:
        # Edits must go through the versioned save; staff read the metadata.
        return False
