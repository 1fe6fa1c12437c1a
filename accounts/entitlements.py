"""What a practice's plan allows, asked by the apps below billing (accounts, api, formats, integrations).

Billing knows the answers but sits above those apps, so it provides them here when it starts
(``billing.apps``). Until it has, and whenever billing is off (self-hosted mode), everything is allowed. The
refusal is one exception, ``PlanLimitExceeded``, with a reason the API reports as ``details.reason`` of its
402 ``plan_limit_exceeded`` answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from accounts.models import Practice


class Feature(models.TextChoices):
    CUSTOM_FORMATS = "custom_formats", "Custom note formats"
    API_ACCESS = "api_access", "API access"
    WEBHOOKS = "webhooks", "Webhooks"


class LimitReason(models.TextChoices):
    NO_SUBSCRIPTION = "no_subscription", "No active subscription"
    MINUTES_EXHAUSTED = "minutes_exhausted", "Audio minutes used up"
    SEATS_EXHAUSTED = "seats_exhausted", "Seats used up"
    FEATURE_NOT_IN_PLAN = "feature_not_in_plan", "Not in the plan"


class PlanLimitExceeded(Exception):
    """The practice's plan does not allow this. ``message`` is for the people of the practice."""

    def __init__(self, reason: LimitReason, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details or {}


FeatureCheck = Callable[[Practice, Feature], None]
SeatsCheck = Callable[[Practice], bool]
PracticeCreatedHook = Callable[[Practice], None]

_feature_check: FeatureCheck | None = None
_seats_check: SeatsCheck | None = None
_practice_created_hooks: list[PracticeCreatedHook] = []


def entitlements_provide(*, feature_check: FeatureCheck, seats_check: SeatsCheck) -> None:
    """Billing's answers, from its ``AppConfig.ready()``."""
    global _feature_check, _seats_check  # noqa: PLW0603 — set once at start-up, like a registry
    _feature_check = feature_check
    _seats_check = seats_check


def feature_require(practice: Practice, feature: Feature) -> None:
    """Raises PlanLimitExceeded when the practice's plan does not include ``feature`` (or it has no plan)."""
    if _feature_check is not None:
        _feature_check(practice, feature)


def feature_refusal(practice: Practice, feature: Feature) -> str:
    """Why the practice may not use ``feature`` (a message for its people), or "" when it may."""
    try:
        feature_require(practice, feature)
    except PlanLimitExceeded as refused:
        return refused.message
    return ""


def feature_allowed(practice: Practice, feature: Feature) -> bool:
    try:
        feature_require(practice, feature)
    except PlanLimitExceeded:
        return False
    return True


def seats_available(practice: Practice) -> bool:
    """Whether one more member fits in the practice's plan: ask before inviting someone."""
    return True if _seats_check is None else _seats_check(practice)


def on_practice_created(hook: PracticeCreatedHook) -> None:
    """Call ``hook`` with every practice ``accounts.services.practice_create`` makes, in its transaction."""
    if hook not in _practice_created_hooks:
        _practice_created_hooks.append(hook)


def practice_created(practice: Practice) -> None:
    for hook in tuple(_practice_created_hooks):
        hook(practice)
