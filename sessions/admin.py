from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from sessions.models import ClinicalSession, Recording


class RecordingInline(admin.StackedInline[Recording, ClinicalSession]):
    model = Recording
    extra = 0
    can_delete = False
    fields = ("id", "original_filename", "content_type", "codec", "duration_seconds", "bytes", "sha256", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClinicalSession)
class ClinicalSessionAdmin(admin.ModelAdmin[ClinicalSession]):
    # Support works from ids, practices and clinicians; the client label stays out of lists.
    list_display = ["id", "practice", "clinician", "occurred_at", "note_type", "status", "created_at"]
    list_filter = ["status", "note_type", "practice", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "practice__name", "practice__slug", "clinician__email"]
    list_select_related = ["practice", "clinician"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["id", "created_at", "updated_at", "consent_recorded_at", "consent_recorded_by"]
    autocomplete_fields = ["practice", "clinician"]
    inlines = [RecordingInline]
    show_full_result_count = False


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin[Recording]):
    list_display = ["id", "session_id", "codec", "duration_seconds", "bytes", "created_at"]
    list_filter = ["codec", "has_video"]
    search_fields = ["=id", "=session__id", "=sha256"]
    readonly_fields = [field.name for field in Recording._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
