from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from allauth.mfa import signals as mfa_signals
        from django.contrib.auth.signals import user_logged_in

        from accounts import sign_in
        from accounts.security_events import authenticator_renamed, connect_security_events

        user_logged_in.connect(sign_in.session_clocks_start, dispatch_uid="accounts.session_clocks_start")
        for signal in (
            mfa_signals.authenticator_added,
            mfa_signals.authenticator_removed,
            mfa_signals.authenticator_reset,
            authenticator_renamed,
        ):
            signal.connect(sign_in.other_sessions_end, dispatch_uid=f"accounts.other_sessions_end.{id(signal)}")
        # Logins, failed logins, logouts and two-factor changes go to the audit trail.
        connect_security_events()
