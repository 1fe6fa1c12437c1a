from __future__ import annotations

from django.apps import AppConfig


class ClinicalSessionsConfig(AppConfig):
    # The label avoids the clash with django.contrib.sessions.
    name = "sessions"
    label = "clinical_sessions"
    verbose_name = "Clinical sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from formats.usage import register_usage_check
        from sessions.models import ClinicalSession

        register_usage_check(
            "sessions",
            lambda practice, key: ClinicalSession.objects.filter(practice=practice, note_type=key).exists(),
        )
