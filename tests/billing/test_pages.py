"""The billing page for owners and admins (plan, usage, seats, Checkout, the portal), what clinicians see,
where every practice's trial starts, /api/v1/usage, and the billing admin."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Practice
from accounts.services import practice_create
from billing.models import Plan, StripeEvent, Subscription, UsageGrant, UsageRecord
from billing.services import billing_state, subscription_start_trial, usage_record
from jobs.models import Job
from tests.billing.conftest import paid_checkout, subscribe
from tests.factories import PracticeFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/billing/"


def _used(practice, seconds: float, *, at: dt.datetime | None = None) -> None:
    job_id = Job._meta.pk.default()
    usage_record(practice_id=practice.pk, job_id=job_id, seconds=seconds)
    if at is not None:
        UsageRecord.objects.filter(job_id=job_id).update(recorded_at=at)


# --- The page ----------------------------------------------------------------------------------------------


def test_the_owner_sees_the_trial_its_usage_and_the_plans(fake_stripe, trial, practice, alice, alice_client, settings):
    settings.TRIAL_MINUTES = 60
    _used(practice, 15 * 60)
    page = alice_client.get(PAGE).content.decode()
    assert "Free trial" in page
    assert '<meter id="minutes-meter" min="0" max="60" value="15.0"' in page
    assert "Audio minutes: 15 of 60 used" in page
    assert "Seats: 1 of 3 used" in page
    assert '<svg viewBox="0 0' in page
    assert 'class="chart-bar"' in page
    assert page.count('action="/billing/checkout/"') == 3
    assert "Choose Pro" in page


def test_the_chart_has_a_bar_for_each_day_of_the_period_so_far(fake_stripe, trial, practice, alice, alice_client):
    Subscription.objects.filter(practice=practice).update(
        current_period_start=timezone.now() - dt.timedelta(days=4, hours=1)
    )
    _used(practice, 120, at=timezone.now() - dt.timedelta(days=2))
    _used(practice, 60)
    page = alice_client.get(PAGE).content.decode()
    assert len(re.findall(r'<rect class="chart-bar"', page)) == 5
    assert "3 minutes over the 5 days so far" in page
    assert page.count("<tr><td><time") == 5


def test_a_clinician_sees_the_plan_but_not_the_controls(fake_stripe, trial, practice, bob, bob_client):
    page = bob_client.get(PAGE).content.decode()
    assert "Free trial" in page
    assert "/billing/checkout/" not in page
    assert "/billing/portal/" not in page
    assert "owners and admins choose its plan" in page


def test_the_menu_links_billing_for_owners_and_admins_only(fake_stripe, trial, alice_client, bob_client):
    assert 'href="/billing/">Billing</a>' in alice_client.get("/sessions/").content.decode()
    assert 'href="/billing/">Billing</a>' not in bob_client.get("/sessions/").content.decode()


def test_the_page_needs_a_login_and_a_practice(client, fake_stripe):
    assert client.get(PAGE).status_code == 302
    client.force_login(UserFactory())
    assert client.get(PAGE).status_code == 403


def test_the_page_only_takes_get(alice_client, fake_stripe, trial):
    assert alice_client.post(PAGE).status_code == 405


def test_each_practice_sees_only_its_own_billing(fake_stripe, practice, alice, charlie, charlie_client, other_practice):
    _used(practice, 30 * 60)
    subscribe(other_practice, "premium")
    page = charlie_client.get(PAGE).content.decode()
    assert "Cedar Practice" in page
    assert "Alder Clinic" not in page
    assert "Audio minutes: 0 of 4000 used" in page


def test_without_billing_the_page_says_nothing_is_limited(alice_client, practice):
    page = alice_client.get(PAGE).content.decode()
    assert "Billing is off on this server" in page
    assert "/billing/checkout/" not in page


def test_the_page_lets_the_browser_follow_checkout_to_stripe(fake_stripe, trial, alice_client):
    policy = alice_client.get(PAGE)["Content-Security-Policy"]
    form_action = next(part for part in policy.split(";") if "form-action" in part)
    assert "https://checkout.stripe.com" in form_action
    assert "https://billing.stripe.com" in form_action
    assert fake_stripe.url in form_action


def test_a_past_due_subscription_shows_its_grace_period(fake_stripe, practice, alice, alice_client):
    subscribe(practice, "pro", status="past_due", past_due_since=timezone.now() - dt.timedelta(days=2))
    page = alice_client.get(PAGE).content.decode()
    assert "Payment overdue" in page
    assert "processing continues until" in page


# --- Checkout and the portal -------------------------------------------------------------------------------


def test_choosing_a_plan_sends_the_owner_to_stripe_checkout(fake_stripe, trial, practice, alice, alice_client):
    response = alice_client.post("/billing/checkout/", {"plan": "pro"})
    assert response.status_code == 303
    [session] = fake_stripe.checkout_sessions.values()
    assert response["Location"] == session["url"]
    assert session["client_reference_id"] == str(practice.pk)
    assert session["_price"] == "price_pro"
    assert session["_subscription_metadata"] == {"practice_id": str(practice.pk), "plan": "pro"}
    assert session["success_url"] == "http://testserver/billing/?checkout=success"
    customer = fake_stripe.customers[session["customer"]]
    assert (customer["email"], customer["metadata"]) == ("alice@alder.test", {"practice_id": str(practice.pk)})
    assert Subscription.objects.get(practice=practice).stripe_customer_id == customer["id"]


def test_a_second_checkout_reuses_the_stripe_customer(fake_stripe, trial, alice_client):
    alice_client.post("/billing/checkout/", {"plan": "pro"})
    alice_client.post("/billing/checkout/", {"plan": "basic"})
    assert len(fake_stripe.customers) == 1
    assert len({session["customer"] for session in fake_stripe.checkout_sessions.values()}) == 1


def test_a_paying_practice_changes_plans_in_the_portal_not_a_second_checkout(
    fake_stripe, deliver, trial, practice, alice, alice_client
):
    for event in paid_checkout(fake_stripe, practice, alice, "basic"):
        deliver(event)
    response = alice_client.post("/billing/checkout/", {"plan": "pro"}, follow=True)
    assert "change its plan in the billing portal" in response.content.decode()
    assert len(fake_stripe.checkout_sessions) == 1


def test_the_portal_button_sends_the_owner_to_stripes_portal(
    fake_stripe, deliver, trial, practice, alice, alice_client
):
    for event in paid_checkout(fake_stripe, practice, alice, "pro"):
        deliver(event)
    page = alice_client.get(PAGE).content.decode()
    assert 'action="/billing/portal/"' in page
    assert 'href="https://invoice.stripe.test/i/' in page
    response = alice_client.post("/billing/portal/")
    assert response.status_code == 303
    [portal] = fake_stripe.portal_sessions.values()
    assert response["Location"] == portal["url"]
    assert portal["return_url"] == "http://testserver/billing/"


def test_the_portal_needs_a_stripe_customer_first(fake_stripe, trial, alice_client):
    response = alice_client.post("/billing/portal/", follow=True)
    assert "choose a plan first" in response.content.decode()
    assert fake_stripe.portal_sessions == {}


def test_stripe_unreachable_is_a_message_not_an_error(fake_stripe, trial, alice_client):
    fake_stripe.stop()
    response = alice_client.post("/billing/checkout/", {"plan": "pro"}, follow=True)
    assert response.status_code == 200
    assert "Stripe could not be reached" in response.content.decode()


def test_a_plan_without_a_price_cannot_be_bought(fake_stripe, trial, alice_client, settings):
    settings.STRIPE_PRICE_PREMIUM = ""
    response = alice_client.post("/billing/checkout/", {"plan": "premium"}, follow=True)
    assert "its Stripe price is not configured" in response.content.decode()
    assert fake_stripe.checkout_sessions == {}


def test_a_price_set_by_staff_on_the_plan_is_the_one_sold(fake_stripe, trial, alice_client, settings):
    settings.STRIPE_PRICE_BASIC = ""
    Plan.objects.filter(key="basic").update(stripe_price_id="price_premium")
    assert alice_client.post("/billing/checkout/", {"plan": "basic"}).status_code == 303
    [session] = fake_stripe.checkout_sessions.values()
    assert session["_price"] == "price_premium"


def test_an_unknown_plan_is_a_404(fake_stripe, trial, alice_client):
    assert alice_client.post("/billing/checkout/", {"plan": "platinum"}).status_code == 404


def test_clinicians_cannot_start_checkout_or_the_portal(fake_stripe, trial, bob_client):
    assert bob_client.post("/billing/checkout/", {"plan": "pro"}).status_code == 403
    assert bob_client.post("/billing/portal/").status_code == 403


def test_checkout_and_the_portal_only_take_post(fake_stripe, trial, alice_client):
    assert alice_client.get("/billing/checkout/").status_code == 405
    assert alice_client.get("/billing/portal/").status_code == 405


# --- Every practice gets its trial -------------------------------------------------------------------------


def _trial_of(practice: Practice) -> Subscription:
    subscription = Subscription.objects.get(practice=practice)
    assert subscription.status == "trialing"
    return subscription


def test_a_practice_created_by_the_service_starts_its_trial(settings):
    settings.TRIAL_DAYS = 10
    practice = practice_create(name="Birch Clinic", owner_email="owner@birch.test")
    subscription = _trial_of(practice)
    assert subscription.trial_ends_at is not None
    assert abs(subscription.trial_ends_at - (timezone.now() + dt.timedelta(days=10))) < dt.timedelta(minutes=1)


def test_a_practice_created_by_the_command_starts_its_trial():
    call_command("create_practice", "Elm Clinic", "--owner-email", "owner@elm.test", stdout=io.StringIO())
    _trial_of(Practice.objects.get(slug="elm-clinic"))


def test_the_demo_practice_starts_its_trial(settings):
    settings.AI_MODE = "stub"
    call_command("seed_demo", stdout=io.StringIO())
    _trial_of(Practice.objects.get(slug="demo-practice"))


def test_a_practice_made_any_other_way_gets_its_trial_when_billing_first_looks(fake_stripe, alice_client):
    practice = PracticeFactory()
    assert not Subscription.objects.filter(practice=practice).exists()
    assert billing_state(practice).is_trial
    _trial_of(practice)


def test_starting_a_trial_again_changes_nothing(trial, practice):
    Subscription.objects.filter(pk=trial.pk).update(status="active")
    subscription_start_trial(practice)
    assert Subscription.objects.get(practice=practice).status == "active"


# --- /api/v1/usage -----------------------------------------------------------------------------------------


def test_usage_reports_the_trial_against_its_limits(fake_stripe, trial, practice, api, settings):
    settings.TRIAL_MINUTES, settings.TRIAL_SEATS = 60, 3
    _used(practice, 90)
    body = api.get("/api/v1/usage").json()
    assert (body["plan"], body["status"], body["minutes_used"]) == ("trial", "trialing", 1.5)
    assert body["limits"] == {"audio_minutes": 60, "seats": 3}
    assert dt.datetime.fromisoformat(body["period_start"]) == trial.current_period_start
    assert dt.datetime.fromisoformat(body["period_end"]) == trial.trial_ends_at


def test_usage_reports_the_plan_its_period_and_grants(fake_stripe, deliver, trial, practice, alice, api):
    for event in paid_checkout(fake_stripe, practice, alice, "pro"):
        deliver(event)
    _used(practice, 600, at=timezone.now() - dt.timedelta(days=40))  # a previous period
    _used(practice, 120)
    UsageGrant.objects.create(practice=practice, minutes=30, note="Outage")
    body = api.get("/api/v1/usage").json()
    assert (body["plan"], body["status"], body["minutes_used"]) == ("pro", "active", 2.0)
    assert body["limits"] == {"audio_minutes": 1230, "seats": 5}
    subscription = Subscription.objects.get(practice=practice)
    assert dt.datetime.fromisoformat(body["period_start"]) == subscription.current_period_start
    assert dt.datetime.fromisoformat(body["period_end"]) == subscription.current_period_end


def test_usage_without_billing_has_no_plan_and_no_limits(practice, api):
    body = api.get("/api/v1/usage").json()
    assert (body["plan"], body["status"], body["limits"]) == (None, None, None)
    assert body["minutes_used"] == body["audio_minutes"] == 0.0


# --- The admin ---------------------------------------------------------------------------------------------


def test_the_admin_lists_each_practices_plan_status_and_usage(fake_stripe, trial, practice, admin_client):
    _used(practice, 150)
    page = admin_client.get("/admin/billing/subscription/").content.decode()
    assert "Alder Clinic" in page
    assert "Trial" in page
    assert "2.5" in page
    assert f"/admin/billing/usagegrant/add/?practice={practice.pk}" in page


def test_staff_grant_minutes_with_a_note_and_are_named(fake_stripe, trial, practice, admin_client, admin_user):
    response = admin_client.post(
        "/admin/billing/usagegrant/add/", {"practice": practice.pk, "minutes": 20, "note": "Make-good for an outage"}
    )
    assert response.status_code == 302
    grant = UsageGrant.objects.get()
    assert (grant.minutes, grant.note, grant.granted_by) == (20, "Make-good for an outage", admin_user)


def test_staff_edit_a_plan(admin_client):
    plan = Plan.objects.get(key="basic")
    response = admin_client.get(f"/admin/billing/plan/{plan.pk}/change/")
    assert response.status_code == 200
    assert "STRIPE_PRICE_BASIC" in response.content.decode()


def test_the_admin_applies_an_unprocessed_event_again(fake_stripe, deliver, trial, practice, alice, admin_client):
    events = paid_checkout(fake_stripe, practice, alice, "pro")
    deliver(events[-1], run=False)
    event = StripeEvent.objects.get()
    response = admin_client.post(
        "/admin/billing/stripeevent/", {"action": "apply_now", "_selected_action": [event.pk]}, follow=True
    )
    assert "Applied 1 event(s)" in response.content.decode()
    assert Subscription.objects.get(practice=practice).status == "active"


def test_checkout_and_the_portal_ask_for_the_password_again_after_ten_minutes(fake_stripe, trial, alice_client):
    import time

    from accounts.reauthentication import LAST_SEEN_AT, SIGNED_IN_AT

    session = alice_client.session
    session[SIGNED_IN_AT] = time.time() - 11 * 60
    session[LAST_SEEN_AT] = time.time() - 10
    session.save()
    for url in ("/billing/checkout/", "/billing/portal/"):
        response = alice_client.post(url, {"plan": "pro"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert fake_stripe.checkout_sessions == {}
