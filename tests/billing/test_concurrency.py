"""Races on PostgreSQL: two deliveries of one event, two workers applying it, two starts for the last minutes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from billing.models import StripeEvent, Subscription
from billing.stripe_events import stripe_event_process
from jobs.models import Job
from jobs.services import job_start
from tests.billing.conftest import WEBHOOK, paid_checkout

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _race(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread, released together; returns their results (or exceptions)."""
    gate = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int, function: Callable[[], Any]) -> None:
        try:
            gate.wait()
            results[index] = function()
        except BaseException as error:  # noqa: BLE001 — handed to the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_deliveries_of_one_event_store_it_once_and_queue_it_once(fake_stripe, stripe_tasks, trial, practice, alice):
    event = paid_checkout(fake_stripe, practice, alice, "pro")[-1]
    body, signature = fake_stripe.signed(event)

    def deliver() -> int:
        response = Client().post(WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        return response.status_code

    for _ in range(5):  # several rounds, so that the two really meet
        StripeEvent.objects.all().delete()
        stripe_tasks.clear()
        assert _race(deliver, deliver) == [200, 200]
        assert StripeEvent.objects.filter(stripe_id=event["id"]).count() == 1
        assert stripe_tasks == [StripeEvent.objects.get().pk]


def test_two_workers_applying_one_event_ask_stripe_once_and_apply_it_once(
    fake_stripe, stripe_tasks, trial, practice, alice
):
    event = paid_checkout(fake_stripe, practice, alice, "pro")[-1]
    body, signature = fake_stripe.signed(event)
    Client().post(WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    [pk] = stripe_tasks
    subscription_id = event["data"]["object"]["subscription"]
    fake_stripe.reset()

    results = _race(lambda: stripe_event_process(pk), lambda: stripe_event_process(pk))

    assert results == [None, None]
    assert fake_stripe.calls(f"/v1/subscriptions/{subscription_id}") == 1
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None
    assert stored.attempts == 1
    assert Subscription.objects.get(practice=practice).status == "active"


def test_two_starts_for_the_last_minutes_let_one_through(fake_stripe, trial, recorded, alice, settings):
    settings.TRIAL_MINUTES = 1
    sessions = [recorded(40), recorded(40)]

    results = _race(*(lambda session=session: job_start(session=session, requested_by=alice) for session in sessions))

    started = [result for result in results if isinstance(result, Job)]
    refused = [result for result in results if not isinstance(result, Job)]
    assert len(started) == 1, results
    assert [getattr(error, "reason", None) for error in refused] == ["minutes_exhausted"]
    assert Job.objects.count() == 1
