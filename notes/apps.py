from __future__ import annotations

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from formats.usage import register_usage_check
        from notes.models import Note

        # A note keeps the format it was written in even after its session changes format.
        register_usage_check(
            "notes",
            lambda practice, key: Note.objects.filter(session__practice=practice, note_type=key).exists(),
        )
