"""The Stripe webhook: signed on the raw body, stored once, answered at once; anything else stores nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from billing.models import StripeEvent, Subscription
from tests.billing.conftest import WEBHOOK, paid_checkout
from tests.fakes.stripe_server import stripe_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkout_events(fake_stripe, trial, practice, alice):
    """A Checkout of the Pro plan, paid at Stripe: its three events, not yet delivered."""
    return paid_checkout(fake_stripe, practice, alice, "pro")


def _post(body: bytes, signature: str | None) -> Any:
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return Client(enforce_csrf_checks=True).post(WEBHOOK, data=body, content_type="application/json", headers=headers)


def test_a_signed_event_is_stored_and_applied_by_its_task(deliver, checkout_events, practice):
    response = deliver(checkout_events[-1])
    assert response.status_code == 200
    assert response.json()["stored"] is True
    event = StripeEvent.objects.get()
    assert (event.stripe_id, event.type) == (checkout_events[-1]["id"], "checkout.session.completed")
    assert event.source == "webhook"
    assert event.processed_at is not None
    assert event.practice_id == practice.pk
    subscription = Subscription.objects.select_related("plan").get(practice=practice)
    assert subscription.status == "active"
    assert subscription.plan is not None
    assert subscription.plan.key == "pro"


def test_the_answer_is_sent_before_stripe_is_asked_anything(deliver, checkout_events, fake_stripe, stripe_tasks):
    fake_stripe.reset()
    response = deliver(checkout_events[-1], run=False)
    assert response.status_code == 200
    assert fake_stripe.requests == []
    assert stripe_tasks == [StripeEvent.objects.get().pk]
    assert StripeEvent.objects.get().processed_at is None


def test_a_replayed_event_is_a_no_op(deliver, checkout_events, stripe_tasks, fake_stripe, practice):
    first = deliver(checkout_events[-1])
    state = Subscription.objects.values().get(practice=practice)
    fake_stripe.reset()
    again = deliver(checkout_events[-1], run=False)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["stored"] is False
    assert StripeEvent.objects.count() == 1
    assert stripe_tasks == []
    assert fake_stripe.requests == []
    assert Subscription.objects.values().get(practice=practice) == state


def test_a_tampered_body_is_refused_and_nothing_is_stored(checkout_events, fake_stripe, stripe_tasks):
    body, signature = fake_stripe.signed(checkout_events[-1])
    tampered = body.replace(b'"payment_status": "paid"', b'"payment_status": "unpaid"')
    assert tampered != body
    assert _post(tampered, signature).status_code == 400
    assert StripeEvent.objects.count() == 0
    assert stripe_tasks == []


def test_a_body_reformatted_after_signing_is_refused(checkout_events, fake_stripe):
    body, signature = fake_stripe.signed(checkout_events[-1])
    same_json = json.dumps(json.loads(body)).encode()  # equal as JSON, but not the bytes that were signed
    assert _post(same_json, signature).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_an_unsigned_delivery_is_refused(checkout_events, fake_stripe):
    body, _ = fake_stripe.signed(checkout_events[-1])
    assert _post(body, None).status_code == 400
    assert _post(body, "").status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "v1=deadbeef", "t=123"])
def test_a_malformed_signature_header_is_refused(checkout_events, fake_stripe, header):
    body, _ = fake_stripe.signed(checkout_events[-1])
    assert _post(body, header).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_a_body_signed_with_another_secret_is_refused(checkout_events, fake_stripe):
    body, _ = fake_stripe.signed(checkout_events[-1])
    assert _post(body, stripe_signature(body, "whsec_someone_else")).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_a_signature_older_than_five_minutes_is_refused(checkout_events, fake_stripe):
    body, signature = fake_stripe.signed(checkout_events[-1], timestamp=int(time.time()) - 301)
    assert _post(body, signature).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_a_signature_within_five_minutes_is_accepted(deliver, checkout_events):
    assert deliver(checkout_events[-1], timestamp=int(time.time()) - 240).status_code == 200


def test_a_signed_body_that_is_not_json_is_refused(fake_stripe):
    body = b"not json at all"
    assert _post(body, stripe_signature(body, fake_stripe.webhook_secret)).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_unknown_event_types_are_acknowledged_and_ignored(deliver, fake_stripe, stripe_tasks):
    customer = fake_stripe.customer_create({"email": "x@example.test"})
    event = fake_stripe._event("customer.created", customer)
    response = deliver(event)
    assert response.status_code == 200
    assert response.json()["stored"] is False
    assert StripeEvent.objects.count() == 0
    assert stripe_tasks == []


def test_the_webhook_is_off_while_billing_is(settings, client):
    settings.STRIPE_SECRET_KEY = ""
    body = b"{}"
    assert client.post(WEBHOOK, data=body, content_type="application/json").status_code == 404


def test_the_webhook_only_takes_post(fake_stripe, client):
    assert client.get(WEBHOOK).status_code == 405
    assert client.put(WEBHOOK).status_code == 405


def test_without_a_signing_secret_every_delivery_is_refused(fake_stripe, checkout_events, settings):
    body, signature = fake_stripe.signed(checkout_events[-1])
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert _post(body, signature).status_code == 400
    assert StripeEvent.objects.count() == 0
