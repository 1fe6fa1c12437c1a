"""Stripe's events applied to a practice: each once, in any order, delivered any number of times, ending in the
state Stripe has; never rolling a newer state back."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from billing.models import StripeEvent, Subscription
from billing.stripe_events import stripe_event_process
from tests.billing.conftest import paid_checkout, run_stripe_tasks

pytestmark = pytest.mark.django_db


def _state(practice) -> dict[str, object]:
    row = Subscription.objects.select_related("plan").get(practice=practice)
    return {
        "status": row.status,
        "plan": row.plan.key if row.plan else None,
        "period": (row.current_period_start, row.current_period_end),
        "customer": row.stripe_customer_id,
        "subscription": row.stripe_subscription_id,
        "past_due_since": row.past_due_since,
        "cancel_at_period_end": row.cancel_at_period_end,
        "invoice": row.latest_invoice_url,
    }


def _stripe_state(fake, subscription_id: str) -> dict[str, object]:
    subscription = fake.subscriptions[subscription_id]
    item = subscription["items"]["data"][0]
    status = {"active": "active", "past_due": "past_due", "canceled": "canceled"}[subscription["status"]]
    newest_invoice = max(fake.invoices.values(), key=lambda invoice: invoice["created"])
    return {
        "status": status,
        "plan": item["price"]["id"].removeprefix("price_"),
        "period": tuple(
            dt.datetime.fromtimestamp(item[key], tz=dt.UTC) for key in ("current_period_start", "current_period_end")
        ),
        "customer": subscription["customer"],
        "subscription": subscription_id,
        "past_due_since": None,
        "cancel_at_period_end": False,
        "invoice": newest_invoice["hosted_invoice_url"],
    }


def _a_subscriptions_life(fake, practice, alice) -> list[dict[str, Any]]:
    """Checkout of Pro; a failed renewal, then paid; a renewal; a change to Premium: twelve events."""
    events = paid_checkout(fake, practice, alice, "pro")
    subscription_id = events[0]["data"]["object"]["id"]
    events += fake.payment_fail(subscription_id)
    events += fake.payment_succeed(subscription_id)
    events += fake.renew(subscription_id)
    events += fake.price_change(subscription_id, "price_premium")
    return events


ORDERS = {
    "in order": lambda events: events,
    "each twice": lambda events: [event for event in events for _ in range(2)],
    "reversed": lambda events: events[::-1],
    "reversed, each twice": lambda events: [event for event in events[::-1] for _ in range(2)],
    "shuffled": lambda events: random.Random(7).sample(events, len(events)),
    "all, then all again reversed": lambda events: events + events[::-1],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_any_order_and_any_repeat_of_the_events_leave_stripes_state(
    fake_stripe, deliver, trial, practice, alice, order
):
    events = _a_subscriptions_life(fake_stripe, practice, alice)
    for event in ORDERS[order](events):
        assert deliver(event).status_code == 200
    subscription_id = events[0]["data"]["object"]["id"]
    assert _state(practice) == _stripe_state(fake_stripe, subscription_id)
    assert _state(practice)["plan"] == "premium"
    assert StripeEvent.objects.count() == len(events)
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()


def test_events_applied_as_they_happen_follow_the_subscription(fake_stripe, deliver, trial, practice, alice):
    events = paid_checkout(fake_stripe, practice, alice, "basic")
    for event in events:
        deliver(event)
    assert (_state(practice)["status"], _state(practice)["plan"]) == ("active", "basic")
    subscription_id = events[0]["data"]["object"]["id"]
    failed_at = None
    for event in fake_stripe.payment_fail(subscription_id):
        deliver(event)
        failed_at = failed_at or dt.datetime.fromtimestamp(event["created"], tz=dt.UTC)
    assert _state(practice)["status"] == "past_due"
    assert _state(practice)["past_due_since"] == failed_at
    for event in fake_stripe.payment_succeed(subscription_id):
        deliver(event)
    assert (_state(practice)["status"], _state(practice)["past_due_since"]) == ("active", None)
    for event in fake_stripe.subscription_cancel(subscription_id):
        deliver(event)
    assert _state(practice)["status"] == "canceled"


def test_an_old_event_delivered_after_the_cancel_does_not_bring_the_subscription_back(
    fake_stripe, deliver, trial, practice, alice
):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    subscription_id = events[0]["data"]["object"]["id"]
    deleted = fake_stripe.subscription_cancel(subscription_id)
    for event in deleted + events:  # the cancel first, then the creation and the first payment, late
        deliver(event)
    assert _state(practice)["status"] == "canceled"


def test_without_stripes_copy_an_older_event_never_overwrites_a_newer_one(fake_stripe, deliver, trial, practice, alice):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    subscription_id = events[0]["data"]["object"]["id"]
    deleted = fake_stripe.subscription_cancel(subscription_id)
    fake_stripe.forget_subscription(subscription_id)  # Stripe answers 404: only the events' own copies remain
    deliver(deleted[0])
    deliver(events[0])  # customer.subscription.created, older: it says "active"
    assert _state(practice)["status"] == "canceled"


def test_a_late_cancel_of_an_old_subscription_leaves_the_new_one(fake_stripe, deliver, trial, practice, alice):
    first = paid_checkout(fake_stripe, practice, alice, "basic")
    for event in first:
        deliver(event)
    old_id = first[0]["data"]["object"]["id"]
    canceled = fake_stripe.subscription_cancel(old_id)
    for event in canceled:
        deliver(event)
    second = paid_checkout(fake_stripe, practice, alice, "premium")
    for event in second:
        deliver(event)
    for event in canceled + first:  # Stripe retries the old subscription's events
        deliver(event)
    state = _state(practice)
    assert (state["status"], state["plan"], state["subscription"]) == (
        "active",
        "premium",
        second[0]["data"]["object"]["id"],
    )


def test_a_subscriptions_events_before_its_checkout_completed_still_find_the_practice(
    fake_stripe, deliver, trial, practice, alice
):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    deliver(events[0])  # customer.subscription.created: found by its metadata
    assert _state(practice)["status"] == "active"


def test_an_event_for_someone_elses_customer_is_applied_to_no_practice(fake_stripe, deliver, trial, practice):
    customer = fake_stripe.customer_create({"email": "shop@example.test"})
    session = fake_stripe._checkout_create(
        {"mode": "subscription", "customer": customer["id"], "line_items": [{"price": "price_basic"}]}
    )[1]
    for event in fake_stripe.checkout_complete(session["id"]):
        assert deliver(event).status_code == 200
    assert StripeEvent.objects.filter(practice__isnull=True, processed_at__isnull=False).count() == 3
    assert _state(practice)["status"] == "trialing"


def test_an_event_stripe_cannot_be_asked_about_stays_unapplied_and_changes_nothing(
    fake_stripe, deliver, trial, practice, alice, stripe_tasks
):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    before = _state(practice)
    fake_stripe.stop()  # Stripe unreachable
    deliver(events[-1], run=False)
    with pytest.raises(Exception, match="Stripe could not be reached"):
        run_stripe_tasks(stripe_tasks)
    event = StripeEvent.objects.get()
    assert event.processed_at is None
    assert event.attempts == 1
    assert "could not be reached" in event.last_error
    assert _state(practice) == before


def test_processing_an_event_again_changes_nothing(fake_stripe, deliver, trial, practice, alice):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    deliver(events[-1])
    state = _state(practice)
    fake_stripe.reset()
    stripe_event_process(StripeEvent.objects.get().pk)
    assert fake_stripe.requests == []
    assert _state(practice) == state


def test_an_unpaid_checkout_ends_nothing_of_the_trial(fake_stripe, deliver, trial, practice, alice):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    subscription_id = events[0]["data"]["object"]["id"]
    fake_stripe.subscriptions[subscription_id]["status"] = "incomplete"
    deliver(events[0])
    state = _state(practice)
    assert state["status"] == "trialing"
    assert state["customer"] == events[0]["data"]["object"]["customer"]
