"""Stripe's news applied to a practice's subscription, each event once, in whatever order the events arrive.

An event is stored once (``StripeEvent.stripe_id`` is unique) by the webhook after its signature was checked,
or by the reconciliation that asks Stripe for what the webhook missed; both hand it to ``stripe_event_process``.
Processing locks the event row (so a second delivery racing the first waits and then finds it done), reads
the subscription it concerns from Stripe as it is now (so an old event cannot roll a newer state back), and
applies that to the practice's row, locked too. Only when Stripe no longer has the subscription is the
event's own copy used, and then only if no newer event was applied.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Practice
from billing.models import Plan, StripeEvent, Subscription
from billing.services import subscription_start_trial
from billing.stripe_api import StripeNotFound, stripe_subscription_retrieve

logger = logging.getLogger(__name__)

HANDLED_EVENT_TYPES = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
)

# Stripe's subscription statuses, as ours. A subscription in Stripe's own trial period (a price with trial
# days) is a paid plan's subscription: it gets the plan.
_STATUSES = {
    "trialing": Subscription.Status.ACTIVE,
    "active": Subscription.Status.ACTIVE,
    "past_due": Subscription.Status.PAST_DUE,
    "unpaid": Subscription.Status.UNPAID,
    "incomplete": Subscription.Status.INCOMPLETE,
    "incomplete_expired": Subscription.Status.INCOMPLETE_EXPIRED,
    "paused": Subscription.Status.PAUSED,
    "canceled": Subscription.Status.CANCELED,
}


NEVER_PAID = (Subscription.Status.INCOMPLETE, Subscription.Status.INCOMPLETE_EXPIRED)


def _timestamp(value: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC) if isinstance(value, int | float) else None


def stripe_event_store(payload: dict[str, Any], *, source: StripeEvent.Source) -> tuple[StripeEvent, bool]:
    """Store a verified event once; returns it and whether it is new (False: a replay, nothing stored)."""
    created = _timestamp(payload.get("created")) or timezone.now()
    try:
        with transaction.atomic():
            event, new = StripeEvent.objects.get_or_create(
                stripe_id=str(payload["id"]),
                defaults={
                    "type": str(payload.get("type", ""))[:100],
                    "created": created,
                    "livemode": bool(payload.get("livemode")),
                    "payload": payload,
                    "source": source,
                },
            )
    except IntegrityError:  # a concurrent delivery stored it first
        return StripeEvent.objects.get(stripe_id=str(payload["id"])), False
    return event, new


def stripe_event_process(stripe_event_pk: int) -> None:
    """Apply a stored event, once. Raises StripeUnavailable when Stripe could not be asked: the event stays
    unprocessed, with its error, for the reconciliation to try again."""
    try:
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().filter(pk=stripe_event_pk).first()
            if event is None or event.processed_at is not None:
                return
            practice_id, outcome = _apply(event)
            event.practice_id = practice_id
            event.outcome = outcome[:200]
            event.processed_at = timezone.now()
            event.attempts += 1
            event.last_error = ""
            event.save(update_fields=["practice", "outcome", "processed_at", "attempts", "last_error"])
    except Exception as error:
        StripeEvent.objects.filter(pk=stripe_event_pk, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=str(error)[:300]
        )
        raise
    logger.info("stripe event %s %s: %s", event.stripe_id, event.type, event.outcome)


# --- What each event says ----------------------------------------------------------------------------------


def _apply(event: StripeEvent) -> tuple[uuid.UUID | None, str]:
    """Returns the practice it concerned and what was done."""
    obj: dict[str, Any] = (event.payload.get("data") or {}).get("object") or {}
    kind = event.type
    if kind == "checkout.session.completed":
        if obj.get("mode") != "subscription" or not obj.get("subscription"):
            return None, "ignored: not a subscription checkout"
        return _sync(
            event,
            subscription_id=_id(obj["subscription"]),
            customer_id=_id(obj.get("customer")),
            hints=[obj.get("client_reference_id"), _metadata_practice(obj)],
        )
    if kind.startswith("customer.subscription."):
        return _sync(
            event,
            subscription_id=str(obj.get("id", "")),
            customer_id=_id(obj.get("customer")),
            hints=[_metadata_practice(obj)],
            event_copy=obj,
        )
    if kind in ("invoice.paid", "invoice.payment_failed"):
        subscription_id = _invoice_subscription(obj)
        if not subscription_id:
            return None, "ignored: not a subscription invoice"
        return _sync(
            event,
            subscription_id=subscription_id,
            customer_id=_id(obj.get("customer")),
            hints=[_metadata_practice((obj.get("parent") or {}).get("subscription_details"))],
            invoice=obj,
        )
    return None, "ignored: not an event billing acts on"


def _id(value: Any) -> str:
    """An id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id", ""))
    return str(value or "")


def _invoice_subscription(invoice: dict[str, Any]) -> str:
    # Since API version 2025-03-31 the subscription is under parent.subscription_details; before, at the top.
    details = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    return _id(details or invoice.get("subscription"))


def _practice_for(hints: list[Any], *, subscription_id: str, customer_id: str) -> Practice | None:
    """Ours by the id we gave Stripe (checkout's reference, the subscription's metadata), else by the ids Stripe
    gave us. An event about another product's customer on the same Stripe account concerns none of ours."""
    for candidate in hints:
        try:
            practice_id = uuid.UUID(str(candidate))
        except ValueError:
            continue
        practice = Practice.objects.filter(pk=practice_id).first()
        if practice is not None:
            return practice
    row = None
    if subscription_id:
        row = Subscription.objects.filter(stripe_subscription_id=subscription_id).select_related("practice").first()
    if row is None and customer_id:
        row = Subscription.objects.filter(stripe_customer_id=customer_id).select_related("practice").first()
    return row.practice if row is not None else None


def _metadata_practice(obj: dict[str, Any] | None) -> Any:
    return ((obj or {}).get("metadata") or {}).get("practice_id")


def _sync(
    event: StripeEvent,
    *,
    subscription_id: str,
    customer_id: str,
    hints: list[Any],
    event_copy: dict[str, Any] | None = None,
    invoice: dict[str, Any] | None = None,
) -> tuple[uuid.UUID | None, str]:
    practice = _practice_for(hints, subscription_id=subscription_id, customer_id=customer_id)
    if practice is None:
        # Ids new to us (a subscription made outside our Checkout): Stripe's own copy may name the practice.
        try:
            remote = stripe_subscription_retrieve(subscription_id)
        except StripeNotFound:
            remote = event_copy or {}
        practice = _practice_for([_metadata_practice(remote)], subscription_id="", customer_id="")
        if practice is None:
            return None, "ignored: not one of our practices"
    outcome = subscription_refresh(
        practice, subscription_id, event_copy=event_copy, event_created=event.created, customer_id=customer_id
    )
    if invoice is not None:
        _note_invoice(practice, invoice, event.created)
    return practice.pk, outcome


def subscription_refresh(
    practice: Practice,
    subscription_id: str,
    *,
    event_copy: dict[str, Any] | None = None,
    event_created: dt.datetime | None = None,
    customer_id: str = "",
) -> str:
    """Bring the practice's row to the subscription as Stripe has it now, read while the row is locked so that
    two refreshes apply their reads in the order they made them. Only when Stripe no longer has it is
    ``event_copy`` (the event's own copy) used, and only if no newer event was applied."""
    subscription_start_trial(practice)
    with transaction.atomic():
        row = Subscription.objects.select_for_update().get(practice=practice)
        try:
            remote = stripe_subscription_retrieve(subscription_id)
        except StripeNotFound:
            if event_copy is None:
                return f"ignored: Stripe has no subscription {subscription_id}"
            if _older(event_created, than=row.stripe_event_created):
                return "ignored: a newer event was applied already"
            remote = event_copy
        if customer_id and not row.stripe_customer_id:
            row.stripe_customer_id = customer_id
        return _apply_state(row, remote, event_created)


def _apply_state(row: Subscription, remote: dict[str, Any], event_created: dt.datetime | None) -> str:
    status = _STATUSES.get(str(remote.get("status", "")), Subscription.Status.INCOMPLETE)
    live = status in Subscription.LIVE_STATUSES
    remote_id = str(remote.get("id", ""))
    row.synced_at = timezone.now()
    row.stripe_event_created = _latest(row.stripe_event_created, event_created)
    other = bool(row.stripe_subscription_id) and row.stripe_subscription_id != remote_id
    if other and row.status in Subscription.LIVE_STATUSES and not live:
        # Late news of an old subscription (canceled, or a checkout never paid) while the practice pays another.
        row.save()
        return f"ignored: the practice pays {row.stripe_subscription_id}, this is {status} {remote_id}"
    customer = _id(remote.get("customer"))
    if customer:
        row.stripe_customer_id = customer
    if row.status == Subscription.Status.TRIALING and status in NEVER_PAID:
        # A checkout whose first payment has not gone through (or never will) ends nothing: the practice keeps
        # its trial. A subscription that was paid and has ended since (canceled) does end it, whatever order
        # its events arrive in.
        row.save()
        return f"kept the trial: subscription {remote_id} is {status}"
    row.stripe_subscription_id = remote_id
    item = _first_item(remote)
    plan = _plan_for(item)
    if plan is not None:
        row.plan = plan
    elif live:
        logger.error("stripe subscription %s: its price is none of our plans'", remote_id)
    start = _timestamp(item.get("current_period_start")) or _timestamp(remote.get("current_period_start"))
    end = _timestamp(item.get("current_period_end")) or _timestamp(remote.get("current_period_end"))
    if start is not None and end is not None:
        row.current_period_start, row.current_period_end = start, end
    if status == Subscription.Status.PAST_DUE:
        row.past_due_since = row.past_due_since or event_created or timezone.now()
    else:
        row.past_due_since = None
    row.status = status
    row.cancel_at_period_end = bool(remote.get("cancel_at_period_end"))
    row.save()
    plan_key = row.plan.key if row.plan is not None else "no plan"
    return f"{remote_id} is {status} on {plan_key}"


def _older(candidate: dt.datetime | None, *, than: dt.datetime | None) -> bool:
    return candidate is not None and than is not None and candidate < than


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return max((x for x in (a, b) if x is not None), default=None)


def _first_item(remote: dict[str, Any]) -> dict[str, Any]:
    items = (remote.get("items") or {}).get("data") or []
    return items[0] if items and isinstance(items[0], dict) else {}


def _plan_for(item: dict[str, Any]) -> Plan | None:
    price = item.get("price") or item.get("plan") or {}
    price_id = _id(price)
    if not price_id:
        return None
    return next((plan for plan in Plan.objects.all() if plan.price_id == price_id), None)


def _note_invoice(practice: Practice, invoice: dict[str, Any], event_created: dt.datetime) -> None:
    """Keep the newest invoice's page for the billing page's link; an older invoice's late event changes nothing."""
    url = str(invoice.get("hosted_invoice_url") or "")
    created = _timestamp(invoice.get("created")) or event_created
    if not url.startswith(("https://", "http://")):
        return
    newer = Q(latest_invoice_created__isnull=True) | Q(latest_invoice_created__lte=created)
    Subscription.objects.filter(newer, practice=practice).update(
        latest_invoice_url=url[:500], latest_invoice_created=created
    )
