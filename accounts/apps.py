from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Logins, failed logins, logouts and two-factor changes go to the audit trail.
        from accounts.security_events import connect_security_events

        connect_security_events()
