"""Billing switched on against a loopback fake of Stripe, and a way to deliver its events to the webhook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import ApiKey, Practice, User
from billing.models import Plan, Subscription
from billing.services import checkout_start, subscription_start_trial
from billing.stripe_events import stripe_event_process
from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import run_job
from sessions.models import ClinicalSession
from sessions.services import recording_replace
from tests.api.conftest import ApiClient
from tests.factories import ClinicalSessionFactory
from tests.fakes.stripe_server import FakeStripe
from tests.support.synthetic_audio import write_wav

WEBHOOK = "/billing/stripe/webhook/"


def seed_plans() -> None:
    """The plans the data migration seeds; a transactional test's flush removes them for the tests after it."""
    import_module("billing.migrations.0002_seed_plans").seed_plans(django_apps, None)


@pytest.fixture(autouse=True)
def _plans(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("django_db") is not None:
        request.getfixturevalue("db" if not _transactional(request) else "transactional_db")
        seed_plans()


def _transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


@pytest.fixture
def fake_stripe(settings: Settings) -> Iterator[FakeStripe]:
    """Billing on: the SDK talks to the fake, which signs with the endpoint's secret."""
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = fake.api_key
        settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_PRICE_BASIC = "price_basic"
        settings.STRIPE_PRICE_PRO = "price_pro"
        settings.STRIPE_PRICE_PREMIUM = "price_premium"
        settings.AI_MODE = "stub"
        yield fake


@pytest.fixture
def stripe_tasks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The StripeEvent ids the webhook handed to the workers (once its transaction committed)."""
    queued: list[int] = []
    monkeypatch.setattr("billing.webhooks._enqueue", queued.append)
    return queued


Deliver = Callable[..., Any]


@pytest.fixture
def deliver(fake_stripe: FakeStripe, stripe_tasks: list[int], django_capture_on_commit_callbacks: Any) -> Deliver:
    """POST an event to the webhook as Stripe would (signed now), then run the tasks it queued."""

    def post(event: dict[str, Any], *, run: bool = True, timestamp: int | None = None) -> Any:
        body, signature = fake_stripe.signed(event, timestamp)
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().post(
                WEBHOOK, data=body, content_type="application/json", headers={"Stripe-Signature": signature}
            )
        if run:
            run_stripe_tasks(stripe_tasks)
        return response

    return post


def run_stripe_tasks(queued: list[int]) -> None:
    while queued:
        stripe_event_process(queued.pop(0))


@pytest.fixture
def trial(practice: Practice, alice: User) -> Subscription:
    return subscription_start_trial(practice)


def paid_checkout(fake: FakeStripe, practice: Practice, user: User, key: str = "pro") -> list[dict[str, Any]]:
    """Our Checkout for the plan (through the SDK, as the page starts it), paid at Stripe: the events Stripe then
    sends, not yet delivered."""
    url = checkout_start(
        practice=practice,
        plan=plan(key),
        user=user,
        success_url="http://testserver/billing/?checkout=success",
        cancel_url="http://testserver/billing/?checkout=canceled",
    )
    session_id = url.rsplit("/", 1)[-1]
    return fake.checkout_complete(session_id)


def plan(key: str) -> Plan:
    return Plan.objects.get(key=key)


def subscribe(practice: Practice, key: str, **fields: Any) -> Subscription:
    """Put the practice on a paid plan as if Stripe had told us (for tests about what a plan allows)."""
    subscription = subscription_start_trial(practice)
    status = fields.pop("status", Subscription.Status.ACTIVE)
    Subscription.objects.filter(pk=subscription.pk).update(
        plan=plan(key), status=status, stripe_subscription_id="sub_x", **fields
    )
    subscription.refresh_from_db()
    return subscription


@pytest.fixture
def recorded(alice: User, practice: Practice, tmp_path: Path) -> Callable[..., ClinicalSession]:
    """Alice's session with a recording of ``seconds`` of tone (each call's audio differs)."""
    made = [0]

    def make(seconds: float = 30.0) -> ClinicalSession:
        made[0] += 1
        audio = write_wav(tmp_path / f"tone-{made[0]}.wav", [(seconds + made[0] / 1000, -20.0)])
        session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap")
        recording_replace(session=session, upload_path=audio, original_filename="tone.wav", uploaded_by=alice)
        session.refresh_from_db()
        return session

    return make


def process(session: ClinicalSession, user: User) -> Job:
    """Start and run the session's pipeline (stub providers) to its end."""
    job = job_start(session=session, requested_by=user)
    run_job(str(job.pk))
    job.refresh_from_db()
    return job


@pytest.fixture
def api(alice: User, practice: Practice) -> ApiClient:
    """Alice's practice's API key, as an integrator calls with it."""
    _, raw = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    return ApiClient(raw)
