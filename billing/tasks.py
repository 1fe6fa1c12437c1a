"""django-q2 entry points: thin, they take ids and call the service."""

from __future__ import annotations

from billing.reconcile import stripe_reconcile
from billing.stripe_events import stripe_event_process


def process_stripe_event(stripe_event_pk: int) -> None:
    stripe_event_process(int(stripe_event_pk))


def reconcile_stripe() -> dict[str, int]:
    return stripe_reconcile()
