"""Receiving Stripe's webhook: verify the signature on the raw body, store the event once, and leave the work
to a task so that Stripe gets its answer fast."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction

from billing.models import StripeEvent
from billing.stripe_events import HANDLED_EVENT_TYPES, stripe_event_store

# Stripe's own default: a signature older than this is refused, so a captured delivery cannot be replayed later.
SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookRefused(Exception):
    """Not a genuine, fresh Stripe delivery; the message says why (for the log, not for the sender)."""


@dataclass(frozen=True)
class Received:
    stripe_id: str
    type: str
    # False for a replay, and for an event type billing does not act on (acknowledged, not stored).
    stored: bool


def _enqueue(stripe_event_pk: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "billing.tasks.process_stripe_event",
        stripe_event_pk,
        task_name=f"stripe event {stripe_event_pk}",
        group="billing",
    )


def stripe_event_enqueue_after_commit(stripe_event_pk: int) -> None:
    transaction.on_commit(functools.partial(_enqueue, stripe_event_pk))


def webhook_receive(body: bytes, signature_header: str) -> Received:
    """Verify and store one delivery. Raises WebhookRefused, having stored nothing, when the body is not signed
    with ``STRIPE_WEBHOOK_SECRET``, was changed, or was signed more than five minutes ago."""
    secret = str(settings.STRIPE_WEBHOOK_SECRET)
    if not secret:
        raise WebhookRefused("STRIPE_WEBHOOK_SECRET is not set")
    if not signature_header:
        raise WebhookRefused("no Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(  # type: ignore[no-untyped-call]
            body, signature_header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as error:
        raise WebhookRefused(f"signature: {error.user_message or 'not valid'}") from None
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    # The payload exactly as signed: the SDK's object is for reading, the stored copy is Stripe's JSON.
    payload: dict[str, Any] = json.loads(body)
    if not isinstance(payload, dict) or not payload.get("id") or event.get("object") != "event":
        raise WebhookRefused("not an event")
    kind = str(payload.get("type", ""))
    if kind not in HANDLED_EVENT_TYPES:
        return Received(stripe_id=str(payload["id"]), type=kind, stored=False)
    with transaction.atomic():
        stored, new = stripe_event_store(payload, source=StripeEvent.Source.WEBHOOK)
        if new:
            stripe_event_enqueue_after_commit(stored.pk)
    return Received(stripe_id=stored.stripe_id, type=kind, stored=new)
