"""Start-up validation of the API and webhook settings: every message names the variable to set."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from accounts.rate_limits import parse_rate

RATE_SETTINGS = (
    "API_RATE_JOBS",
    "API_RATE_JOBS_PER_IP",
    "API_RATE_UPLOADS",
    "API_RATE_UPLOADS_PER_IP",
    "API_RATE_RECORDING_PARTS",
    "API_RATE_RECORDING_PARTS_PER_IP",
    "API_KEY_FAILURES_PER_IP",
)


@register(Tags.compatibility)
def check_api_rates(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name in RATE_SETTINGS:
        try:
            parse_rate(str(getattr(settings, name)))
        except ValueError as error:
            messages.append(
                Error(str(error), hint=f"Set {name} to a rate such as 30/min or 500/hour.", id="integrations.E001")
            )
    return messages


@register(Tags.security, deploy=True)
def check_webhook_destinations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return [
            Warning(
                "WEBHOOKS_ALLOW_PRIVATE is on: webhooks may be sent to private and loopback addresses.",
                hint="Unset WEBHOOKS_ALLOW_PRIVATE in production; it is meant for development and tests.",
                id="integrations.W001",
            )
        ]
    return []
