"""What the webhook missed, applied on a schedule: Stripe's recent events and every practice's subscription as
Stripe has it now, through the same code as the webhook's task (each event once, no state rolled back)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from django.conf import settings
from django.utils import timezone

from billing.models import StripeEvent, Subscription
from billing.stripe_api import StripeUnavailable, billing_enabled, stripe_events_since
from billing.stripe_events import HANDLED_EVENT_TYPES, stripe_event_process, stripe_event_store, subscription_refresh

logger = logging.getLogger(__name__)


def stripe_reconcile() -> dict[str, int]:
    """One pass; returns its counts. Harmless to run at any time, and beside the webhook's tasks."""
    counts: Counter[str] = Counter()
    if not billing_enabled():
        counts["skipped"] = 1
        return dict(counts)
    since = timezone.now() - dt.timedelta(hours=settings.STRIPE_RECONCILE_HOURS)
    try:
        for payload in stripe_events_since(created_gte=int(since.timestamp()), types=list(HANDLED_EVENT_TYPES)):
            if payload.get("type") not in HANDLED_EVENT_TYPES or not payload.get("id"):
                continue
            _, new = stripe_event_store(payload, source=StripeEvent.Source.RECONCILIATION)
            counts["events_missed"] += int(new)
    except StripeUnavailable as error:
        logger.warning("stripe reconciliation: the event list failed: %s", error)
        counts["event_list_failed"] = 1
    # Oldest first: the events the webhook missed, and those whose processing failed (Stripe was unreachable).
    pending = StripeEvent.objects.filter(processed_at__isnull=True).order_by("created", "pk")
    for pk in pending.values_list("pk", flat=True):
        try:
            stripe_event_process(pk)
        except StripeUnavailable as error:
            logger.warning("stripe reconciliation: event %s not applied: %s", pk, error)
            counts["events_failed"] += 1
        except Exception:
            logger.exception("stripe reconciliation: event %s could not be applied", pk)
            counts["events_failed"] += 1
        else:
            counts["events_applied"] += 1
    subscriptions = Subscription.objects.exclude(stripe_subscription_id="").select_related("practice")
    for row in subscriptions.iterator():
        try:
            subscription_refresh(row.practice, row.stripe_subscription_id)
        except StripeUnavailable as error:
            logger.warning("stripe reconciliation: subscription of %s not refreshed: %s", row.practice_id, error)
            counts["subscriptions_failed"] += 1
        else:
            counts["subscriptions_refreshed"] += 1
    return dict(counts)
