from __future__ import annotations

from django.apps import AppConfig


class FormatsConfig(AppConfig):
    """Note formats (SOAP, DAP, … and a practice's own): below sessions and notes, so both may use them."""

    name = "formats"
    verbose_name = "note formats"
    default_auto_field = "django.db.models.BigAutoField"
