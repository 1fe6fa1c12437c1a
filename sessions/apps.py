from __future__ import annotations

from django.apps import AppConfig


class ClinicalSessionsConfig(AppConfig):
    # The label avoids the clash with django.contrib.sessions.
    name = "sessions"
    label = "clinical_sessions"
    verbose_name = "Clinical sessions"
    default_auto_field = "django.db.models.BigAutoField"
