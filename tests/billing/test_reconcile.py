"""The scheduled reconciliation: what the webhook missed is applied, through the same code, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from billing import stripe_events
from billing.models import StripeEvent, Subscription
from billing.reconcile import stripe_reconcile
from billing.stripe_events import HANDLED_EVENT_TYPES
from billing.tasks import reconcile_stripe
from tests.billing.conftest import paid_checkout

pytestmark = pytest.mark.django_db


def _status(practice) -> tuple[str, str | None]:
    row = Subscription.objects.select_related("plan").get(practice=practice)
    return row.status, row.plan.key if row.plan else None


def test_events_the_webhook_never_delivered_are_applied(fake_stripe, trial, practice, alice):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    counts = reconcile_stripe()
    assert _status(practice) == ("active", "pro")
    assert counts["events_missed"] == len(events)
    assert counts["events_applied"] == len(events)
    stored = StripeEvent.objects.all()
    assert {event.stripe_id for event in stored} == {event["id"] for event in events}
    assert {event.source for event in stored} == {"reconciliation"}


def test_a_second_pass_stores_and_applies_nothing_again(fake_stripe, trial, practice, alice):
    paid_checkout(fake_stripe, practice, alice, "pro")
    stripe_reconcile()
    state = Subscription.objects.values().get(practice=practice)
    counts = stripe_reconcile()
    assert counts.get("events_missed", 0) == 0
    assert counts.get("events_applied", 0) == 0
    assert StripeEvent.objects.count() == 3
    again = Subscription.objects.values().get(practice=practice)
    assert {k: v for k, v in again.items() if k not in {"synced_at", "updated_at"}} == {
        k: v for k, v in state.items() if k not in {"synced_at", "updated_at"}
    }


def test_events_the_webhook_delivered_are_not_applied_twice(fake_stripe, deliver, trial, practice, alice):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    for event in events:
        deliver(event)
    counts = stripe_reconcile()
    assert counts.get("events_missed", 0) == 0
    assert counts.get("events_applied", 0) == 0
    assert StripeEvent.objects.filter(source="webhook").count() == 3


def test_it_asks_only_for_recent_events_of_the_types_billing_handles(fake_stripe, trial, settings):
    settings.STRIPE_RECONCILE_HOURS = 48
    stripe_reconcile()
    [query] = fake_stripe.event_queries
    since = dt.datetime.fromtimestamp(int(query["created"]["gte"]), tz=dt.UTC)
    assert abs(since - (timezone.now() - dt.timedelta(hours=48))) < dt.timedelta(minutes=1)
    assert sorted(query["types"]) == sorted(HANDLED_EVENT_TYPES)
    assert len(fake_stripe.requests) == 1


def test_an_event_whose_processing_failed_is_applied_by_the_next_pass(
    fake_stripe, deliver, trial, practice, alice, stripe_tasks
):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    deliver(events[-1], run=False)  # stored by the webhook; its task never ran (a worker died)
    stripe_reconcile()
    assert StripeEvent.objects.get(stripe_id=events[-1]["id"]).processed_at is not None
    assert _status(practice) == ("active", "pro")


def test_a_subscription_changed_without_any_event_reaching_us_is_refreshed(
    fake_stripe, deliver, trial, practice, alice
):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    for event in events:
        deliver(event)
    subscription_id = events[0]["data"]["object"]["id"]
    fake_stripe.subscription_cancel(subscription_id)
    fake_stripe.events.clear()  # and Stripe's event list has forgotten it (older than the window)
    counts = stripe_reconcile()
    assert counts["subscriptions_refreshed"] == 1
    assert _status(practice) == ("canceled", "pro")


def test_old_events_outside_the_window_are_not_asked_for(fake_stripe, trial, practice, alice, settings):
    settings.STRIPE_RECONCILE_HOURS = 1
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    for event in fake_stripe.events:
        event["created"] = int((timezone.now() - dt.timedelta(hours=2)).timestamp())
    counts = stripe_reconcile()
    assert counts.get("events_missed", 0) == 0
    assert len(events) == 3


def test_stripe_unreachable_changes_nothing_and_says_so(fake_stripe, trial, practice, alice, deliver):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    for event in events:
        deliver(event)
    before = Subscription.objects.values().get(practice=practice)
    fake_stripe.stop()
    counts = stripe_reconcile()
    assert counts == {"event_list_failed": 1, "subscriptions_failed": 1}
    assert Subscription.objects.values().get(practice=practice) == before


def test_it_is_a_no_op_while_billing_is_off(settings, practice):
    settings.STRIPE_SECRET_KEY = ""
    assert stripe_reconcile() == {"skipped": 1}


def test_an_event_that_cannot_be_applied_does_not_hold_back_the_others(
    fake_stripe, deliver, trial, practice, alice, monkeypatch
):
    paid_checkout(fake_stripe, practice, alice, "pro")
    real = stripe_events._apply

    def apply(event):
        if event.type == "invoice.paid":
            raise RuntimeError("a bug")
        return real(event)

    monkeypatch.setattr(stripe_events, "_apply", apply)
    counts = stripe_reconcile()
    assert (counts["events_failed"], counts["events_applied"]) == (1, 2)
    assert _status(practice) == ("active", "pro")
    failed = StripeEvent.objects.get(type="invoice.paid")
    assert (failed.processed_at, failed.last_error) == (None, "a bug")
