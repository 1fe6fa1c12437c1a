from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from formats.catalogue import note_type_choices
from sessions.models import ClinicalSession, ConsentScript, LiveRecording, Recording, RecordingPart
from sessions.services import session_delete


class RecordingInline(admin.StackedInline[Recording, ClinicalSession]):
    model = Recording
    extra = 0
    can_delete = False
    # Not the original file name: clinicians often name files after the client.
    fields = ("id", "content_type", "codec", "duration_seconds", "bytes", "sha256", "created_at", "purged_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClinicalSessionAdminForm(forms.ModelForm[ClinicalSession]):
    """The note format is chosen from those the session's practice has, not typed."""

    class Meta:
        model = ClinicalSession
        fields = ["occurred_at", "note_type"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practice = self.instance.practice if self.instance.practice_id else None
        choices = note_type_choices(practice)
        current = self.instance.note_type
        if current and current not in dict(choices):
            choices.append((current, f"{current} (no longer offered)"))
        self.fields["note_type"] = forms.ChoiceField(label="Note format", choices=choices)


class RecordingPartInline(admin.TabularInline[RecordingPart, ClinicalSession]):
    """The parts received of a recording being made in the browser (support: "did my recording arrive?")."""

    model = RecordingPart
    extra = 0
    can_delete = False
    fields = ("n", "bytes", "sha256", "recorded_seconds", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LiveRecordingInline(admin.StackedInline[LiveRecording, ClinicalSession]):
    model = LiveRecording
    extra = 0
    can_delete = False
    fields = (
        "started_at",
        "started_by",
        "last_part_at",
        "completed_at",
        "completion_error_code",
        "completion_error",
        "completion_failed_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClinicalSession)
class ClinicalSessionAdmin(admin.ModelAdmin[ClinicalSession]):
    form = ClinicalSessionAdminForm
    # Support works from ids, practices and clinicians; the client label stays out of lists.
    list_display = [
        "id",
        "practice",
        "clinician",
        "occurred_at",
        "note_type",
        "status",
        "consent_status",
        "consent_method",
        "created_at",
    ]
    list_filter = [
        "status",
        "consent_status",
        "note_type",
        "practice",
        ("occurred_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=id", "practice__name", "practice__slug", "clinician__email"]
    list_select_related = ["practice", "clinician"]
    date_hierarchy = "occurred_at"
    # Staff see who, when and how far along; not the client label, and they cannot change a session's history.
    exclude = ["client_label"]
    readonly_fields = [
        "id",
        "practice",
        "clinician",
        "status",
        "created_at",
        "updated_at",
        "consent_status",
        "consent_method",
        "consent_script",
        "consent_recorded_at",
        "consent_recorded_by",
    ]
    inlines = [RecordingInline, LiveRecordingInline, RecordingPartInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ClinicalSession) -> None:
        session_delete(session=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ClinicalSession]) -> None:
        # One by one, through the service, so that every session's files go with it.
        for session in queryset:
            session_delete(session=session)


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin[Recording]):
    list_display = ["id", "session_id", "codec", "duration_seconds", "bytes", "created_at"]
    list_filter = ["codec", "has_video"]
    search_fields = ["=id", "=session__id", "=sha256"]
    exclude = ["original_filename", "file"]
    readonly_fields = [f.name for f in Recording._meta.fields if f.name not in {"original_filename", "file"}]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentScript)
class ConsentScriptAdmin(admin.ModelAdmin[ConsentScript]):
    """Versions are history: staff read them, practices' owners write them on their consent page."""

    list_display = ["practice", "version", "created_by", "created_at"]
    list_filter = ["practice"]
    search_fields = ["practice__name", "practice__slug"]
    list_select_related = ["practice", "created_by"]
    readonly_fields = ["practice", "version", "text", "created_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
