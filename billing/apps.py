from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The apps below billing ask accounts.entitlements what a plan allows; billing answers, and starts the
        # trial of every practice accounts creates.
        from accounts.entitlements import entitlements_provide, on_practice_created
        from billing.services import feature_require, practice_start_trial, seats_available

        entitlements_provide(feature_check=feature_require, seats_check=seats_available)
        on_practice_created(practice_start_trial)
