from __future__ import annotations

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.audit import register_session_lookup
        from accounts.models import AuditEvent
        from formats.usage import register_usage_check
        from notes.models import Note

        # Events about a note are shown with its session ("who opened this session").
        register_session_lookup(
            AuditEvent.ObjectType.NOTE,
            lambda note_id: Note.objects.filter(pk=note_id).values_list("session_id", flat=True).first(),
        )

        # A note keeps the format it was written in even after its session changes format.
        register_usage_check(
            "notes",
            lambda practice, key: Note.objects.filter(session__practice=practice, note_type=key).exists(),
        )
