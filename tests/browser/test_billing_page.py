"""The billing page in a real browser: on a phone's width nothing scrolls sideways, nothing breaks the CSP, and
Checkout's button leads to Stripe (the fake's page here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import Practice, User
from billing.services import subscription_start_trial, usage_record
from jobs.models import Job
from tests.billing.conftest import seed_plans
from tests.browser.conftest import NewContext, PageProblems, log_in
from tests.fakes.stripe_server import FakeStripe

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def billing_on(settings: Settings, transactional_db: None) -> Iterator[FakeStripe]:
    seed_plans()
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = fake.api_key
        settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_PRICE_BASIC = "price_basic"
        settings.STRIPE_PRICE_PRO = "price_pro"
        settings.STRIPE_PRICE_PREMIUM = "price_premium"
        yield fake


def _overflow(page: Page) -> int:
    """How far the page scrolls sideways, in CSS pixels."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return width


def test_the_billing_page_fits_a_phone_and_keeps_to_the_csp(
    billing_on: FakeStripe,
    alice: User,
    practice: Practice,
    live_server: LiveServer,
    new_context: NewContext,
    page_problems: PageProblems,
) -> None:
    subscription_start_trial(practice)
    for seconds in (600, 300):
        usage_record(practice_id=practice.pk, job_id=Job._meta.pk.default(), seconds=seconds)
    context: BrowserContext = new_context()
    context.set_default_timeout(10_000)
    log_in(context, alice, live_server)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto("/billing/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Billing of Alder Clinic")
    expect(page.get_by_label("Audio minutes: 15 of 60 used")).to_be_visible()
    expect(page.get_by_role("img", name="Audio minutes per day", exact=False)).to_be_visible()
    assert _overflow(page) == 0
    assert page_problems.all == []

    page.get_by_role("button", name="Choose Pro").click()
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    assert page.url.startswith(billing_on.url)
    assert page_problems.all == []
