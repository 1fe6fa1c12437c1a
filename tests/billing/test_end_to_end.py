"""A practice's way from its trial to a paid plan, against the fake Stripe: the trial's minutes run out, the
API refuses with 402 minutes_exhausted, the owner goes through Checkout, Stripe's signed events arrive at the
webhook, the worker applies them, and processing continues."""

from __future__ import annotations

import pytest

from billing.models import StripeEvent, UsageRecord
from jobs.models import Job
from jobs.tasks import run_job
from tests.billing.conftest import WEBHOOK, run_stripe_tasks

pytestmark = pytest.mark.django_db


def test_trial_minutes_run_out_then_checkout_and_the_webhook_let_processing_continue(
    fake_stripe,
    stripe_tasks,
    django_capture_on_commit_callbacks,
    trial,
    recorded,
    alice_client,
    api,
    client,
    settings,
):
    settings.TRIAL_MINUTES = 1

    # The trial's minute is enough for one 45-second recording.
    first = recorded(45)
    started = api.post_json(f"/api/v1/sessions/{first.pk}/jobs")
    assert started.status_code == 202
    run_job(started.json()["id"])
    assert Job.objects.get(pk=started.json()["id"]).status == Job.Status.SUCCEEDED
    usage = api.get("/api/v1/usage").json()
    assert (usage["plan"], usage["minutes_used"], usage["limits"]["audio_minutes"]) == ("trial", 0.75, 1)

    # Not for a second one: the API says why, and nothing is created.
    second = recorded(30)
    refused = api.post_json(f"/api/v1/sessions/{second.pk}/jobs")
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "plan_limit_exceeded"
    assert refused.json()["error"]["details"]["reason"] == "minutes_exhausted"
    assert not Job.objects.filter(session=second).exists()

    # The owner chooses Pro on the billing page and is sent to Stripe's Checkout.
    checkout = alice_client.post("/billing/checkout/", {"plan": "pro"})
    assert checkout.status_code == 303
    session_id = checkout["Location"].rsplit("/", 1)[-1]
    assert fake_stripe.checkout_sessions[session_id]["status"] == "open"

    # She pays there; Stripe posts its signed events to the webhook, which answers at once and queues them.
    events = fake_stripe.checkout_complete(session_id)
    for event in events:
        body, signature = fake_stripe.signed(event)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        assert answer.status_code == 200
    assert len(stripe_tasks) == len(events)

    # The worker applies them; the page and the API show the plan.
    run_stripe_tasks(stripe_tasks)
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == len(events)
    page = alice_client.get("/billing/").content.decode()
    assert "<dd>Pro</dd>" in page
    usage = api.get("/api/v1/usage").json()
    assert (usage["plan"], usage["status"], usage["limits"]) == ("pro", "active", {"audio_minutes": 1200, "seats": 5})

    # Processing continues.
    started = api.post_json(f"/api/v1/sessions/{second.pk}/jobs")
    assert started.status_code == 202
    run_job(started.json()["id"])
    assert Job.objects.get(pk=started.json()["id"]).status == Job.Status.SUCCEEDED
    assert UsageRecord.objects.get(job_id=started.json()["id"]).seconds == pytest.approx(30, abs=0.1)
    # The new period started at the checkout: the trial's minutes are behind it (unless both fell in one second).
    assert api.get("/api/v1/usage").json()["minutes_used"] in (0.5, 1.25)
