"""What a plan allows, checked before a job starts, a member is invited or a feature is used: a clear page
message and 402 ``plan_limit_exceeded`` in the API, with ``details.reason``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts import entitlements
from accounts.entitlements import Feature
from accounts.models import ApiKey, Invitation, Membership
from accounts.services import InvitationRefused, invitation_create
from billing.models import Plan, Subscription, UsageGrant
from billing.services import feature_enabled, seats_available, usage_record
from formats.models import NoteTemplate
from integrations.models import WebhookEndpoint
from jobs.models import Job
from jobs.services import job_start
from sessions.services import recording_replace
from tests.billing.conftest import process, subscribe
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _used(practice, seconds: float) -> None:
    usage_record(practice_id=practice.pk, job_id=Job._meta.pk.default(), seconds=seconds)


def _end_trial(practice) -> None:
    Subscription.objects.filter(practice=practice).update(trial_ends_at=timezone.now() - dt.timedelta(minutes=1))


def _refusal(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["details"].get("reason", "")


def _start(api, session):
    return api.post_json(f"/api/v1/sessions/{session.pk}/jobs")


# --- Starting jobs -------------------------------------------------------------------------------------------


def test_a_new_practice_processes_on_its_trial(fake_stripe, trial, recorded, api):
    assert _start(api, recorded(30)).status_code == 202


def test_once_the_trial_has_ended_no_job_starts(fake_stripe, trial, recorded, api, practice):
    _end_trial(practice)
    response = _start(api, recorded(30))
    assert _refusal(response) == (402, "plan_limit_exceeded", "no_subscription")
    assert "trial has ended" in response.json()["error"]["message"]
    assert Job.objects.count() == 0


def test_used_up_minutes_refuse_a_job_with_the_numbers(fake_stripe, trial, recorded, api, practice, settings):
    settings.TRIAL_MINUTES = 1
    _used(practice, 60)
    response = _start(api, recorded(10))
    assert _refusal(response) == (402, "plan_limit_exceeded", "minutes_exhausted")
    details = response.json()["error"]["details"]
    assert (details["minutes_used"], details["minutes_limit"], details["minutes_remaining"]) == (1.0, 1, 0.0)
    assert Job.objects.count() == 0


def test_a_recording_longer_than_the_minutes_left_is_refused(fake_stripe, trial, recorded, api, settings):
    settings.TRIAL_MINUTES = 1
    response = _start(api, recorded(90))
    assert _refusal(response) == (402, "plan_limit_exceeded", "minutes_exhausted")
    assert response.json()["error"]["details"]["minutes_needed"] == 2


def test_runs_under_way_count_against_the_minutes(fake_stripe, trial, recorded, api, settings):
    settings.TRIAL_MINUTES = 1
    assert _start(api, recorded(40)).status_code == 202
    assert _refusal(_start(api, recorded(40)))[2] == "minutes_exhausted"


def test_a_recording_whose_transcript_will_be_reused_needs_no_minutes(
    fake_stripe, trial, recorded, alice, practice, settings
):
    settings.TRIAL_MINUTES = 1
    first = recorded(40)
    assert process(first, alice).status == Job.Status.SUCCEEDED
    _used(practice, 15)  # 55 s of 60 used
    copy = recorded(5)
    copy.recording.sha256 = first.recording.sha256  # identical audio, already transcribed in this practice
    copy.recording.save(update_fields=["sha256"])
    job = job_start(session=copy, requested_by=alice)
    assert job.status == Job.Status.QUEUED


def test_granted_minutes_lift_the_limit(fake_stripe, trial, recorded, api, practice, settings):
    settings.TRIAL_MINUTES = 1
    _used(practice, 60)
    UsageGrant.objects.create(practice=practice, minutes=5, note="Support: failed upload")
    assert _start(api, recorded(60)).status_code == 202


def test_an_extended_trial_still_counts_its_minutes(fake_stripe, trial, recorded, api, practice, settings):
    settings.TRIAL_MINUTES = 1
    Subscription.objects.filter(practice=practice).update(
        current_period_start=timezone.now() - dt.timedelta(days=20),
        current_period_end=timezone.now() - dt.timedelta(days=6),
        trial_ends_at=timezone.now() + dt.timedelta(days=7),  # staff gave a week more
    )
    assert _start(api, recorded(10)).status_code == 202
    _used(practice, 60)
    assert _refusal(_start(api, recorded(10)))[2] == "minutes_exhausted"


def test_more_members_than_seats_refuses_jobs(fake_stripe, practice, alice, bob, recorded, api):
    subscribe(practice, "pro")
    Plan.objects.filter(key="pro").update(seats=1)  # staff changed the plan: one seat, two members
    response = _start(api, recorded(10))
    assert _refusal(response) == (402, "plan_limit_exceeded", "seats_exhausted")


def test_a_past_due_subscription_keeps_working_through_the_grace_period(fake_stripe, practice, alice, recorded, api):
    subscribe(practice, "pro", status="past_due", past_due_since=timezone.now() - dt.timedelta(days=6))
    assert _start(api, recorded(10)).status_code == 202


def test_after_the_grace_period_a_past_due_subscription_processes_nothing(
    fake_stripe, practice, alice, recorded, api, settings
):
    settings.BILLING_GRACE_DAYS = 7
    subscribe(practice, "pro", status="past_due", past_due_since=timezone.now() - dt.timedelta(days=8))
    response = _start(api, recorded(10))
    assert _refusal(response) == (402, "plan_limit_exceeded", "no_subscription")
    assert "overdue" in response.json()["error"]["message"]


def test_a_canceled_subscription_processes_nothing(fake_stripe, practice, alice, recorded, api):
    subscribe(practice, "pro", status="canceled")
    assert _refusal(_start(api, recorded(10)))[2] == "no_subscription"


def test_a_retry_is_checked_too(fake_stripe, trial, recorded, api, practice, alice):
    job = job_start(session=recorded(10), requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED)
    _end_trial(practice)
    response = api.post_json(f"/api/v1/jobs/{job.pk}/retry")
    assert _refusal(response) == (402, "plan_limit_exceeded", "no_subscription")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_a_refused_start_keeps_its_idempotency_key_free(fake_stripe, trial, recorded, api, practice):
    session = recorded(10)
    _end_trial(practice)
    headers = {"Idempotency-Key": "start-1"}
    assert api.post_json(f"/api/v1/sessions/{session.pk}/jobs", headers=headers).status_code == 402
    Subscription.objects.filter(practice=practice).update(trial_ends_at=timezone.now() + dt.timedelta(days=1))
    assert api.post_json(f"/api/v1/sessions/{session.pk}/jobs", headers=headers).status_code == 202


def test_the_page_tells_an_owner_why_and_links_to_billing(fake_stripe, trial, recorded, alice_client, practice):
    session = recorded(10)
    _end_trial(practice)
    response = alice_client.post(f"/jobs/start/{session.pk}/")
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "trial has ended" in message
    assert 'href="/billing/"' in message
    assert Job.objects.count() == 0
    page = alice_client.post(f"/jobs/start/{session.pk}/", follow=True).content.decode()
    assert '<a href="/billing/">Upgrade on the billing page</a>' in page


def test_the_page_tells_a_clinician_to_ask_an_owner(fake_stripe, trial, bob, bob_client, practice):
    _end_trial(practice)
    session = ClinicalSessionFactory(practice=practice, clinician=bob)
    recording_replace(session=session, upload_path=AUDIO / "jfk.flac", original_filename="a.flac", uploaded_by=bob)
    response = bob_client.post(f"/jobs/start/{session.pk}/", follow=True)
    page = response.content.decode()
    assert "trial has ended" in page
    assert "Ask an owner of the practice to upgrade" in page
    assert 'href="/billing/"' not in page.split("<main", 1)[1]


def test_without_billing_nothing_is_limited(settings, trial, recorded, api, practice):
    settings.STRIPE_SECRET_KEY = ""
    _end_trial(practice)
    _used(practice, 10_000 * 60)
    assert _start(api, recorded(10)).status_code == 202


# --- Seats --------------------------------------------------------------------------------------------------


def test_seats_are_available_until_the_plan_is_full(fake_stripe, practice, alice, settings):
    settings.TRIAL_SEATS = 2
    assert seats_available(practice) is True
    assert entitlements.seats_available(practice) is True
    MembershipFactory(practice=practice, user=UserFactory(), role=Membership.Role.CLINICIAN)
    assert seats_available(practice) is False
    assert entitlements.seats_available(practice) is False


def test_without_billing_seats_are_unlimited(practice, alice, bob):
    assert seats_available(practice) is True


# --- Features -----------------------------------------------------------------------------------------------


def test_features_follow_the_plan(fake_stripe, practice, alice):
    subscribe(practice, "basic")
    assert not feature_enabled(practice, Feature.API_ACCESS)
    assert not entitlements.feature_allowed(practice, Feature.CUSTOM_FORMATS)
    subscribe(practice, "premium")
    assert all(feature_enabled(practice, feature) for feature in Feature)


def test_a_trial_includes_every_feature(fake_stripe, trial, practice):
    assert all(entitlements.feature_allowed(practice, feature) for feature in Feature)


def test_without_billing_every_feature_is_there(practice):
    assert all(entitlements.feature_allowed(practice, feature) for feature in Feature)


def test_a_plan_without_api_access_cannot_create_keys_on_the_page(fake_stripe, practice, alice, alice_client):
    subscribe(practice, "basic")
    response = alice_client.post("/accounts/api-keys/", {"name": "EHR"})
    assert response.status_code == 402
    assert "API access is not part of the practice&#x27;s plan" in response.content.decode()
    assert not ApiKey.objects.filter(name="EHR").exists()
    subscribe(practice, "pro")
    assert alice_client.post("/accounts/api-keys/", {"name": "EHR"}).status_code == 200
    assert ApiKey.objects.filter(name="EHR").exists()


def test_staff_cannot_issue_a_key_the_plan_does_not_include(fake_stripe, practice, admin_client):
    subscribe(practice, "basic")
    response = admin_client.post("/admin/accounts/apikey/add/", {"practice": practice.pk, "name": "EHR"})
    assert response.status_code == 200
    assert "API access is not part of the practice&#x27;s plan" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_key_of_a_plan_without_api_access_is_refused_with_402(fake_stripe, practice, alice, api):
    subscribe(practice, "basic")
    response = api.get("/api/v1/sessions")
    assert _refusal(response) == (402, "plan_limit_exceeded", "feature_not_in_plan")
    assert response.json()["error"]["details"]["feature"] == "api_access"


def test_a_lapsed_subscription_still_reads_its_data_through_the_api(fake_stripe, trial, practice, alice, api):
    _end_trial(practice)
    assert api.get("/api/v1/sessions").status_code == 200


def test_a_plan_without_webhooks_cannot_add_an_endpoint(fake_stripe, practice, alice, alice_client, monkeypatch):
    monkeypatch.setattr("integrations.webhooks.resolve", lambda host, port: ["93.184.216.34"])
    subscribe(practice, "pro")
    data = {"url": "https://hooks.example.org/in", "description": "EHR"}
    response = alice_client.post("/integrations/webhooks/", data)
    assert response.status_code == 402
    assert "Webhooks is not part of the practice&#x27;s plan" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0
    subscribe(practice, "premium")
    assert alice_client.post("/integrations/webhooks/", data).status_code == 200
    assert WebhookEndpoint.objects.count() == 1


# --- Invitations and custom formats (the seams other apps ask) -------------------------------------------


def _invite(practice, inviter, email):
    return invitation_create(
        practice=practice, email=email, role=Membership.Role.CLINICIAN, invited_by=inviter, site_url="https://x.test"
    )


def test_invitations_stop_when_members_and_open_invitations_fill_the_seats(
    fake_stripe, trial, practice, alice, settings
):
    settings.TRIAL_SEATS = 3
    _invite(practice, alice, "dana@alder.test")
    _invite(practice, alice, "erin@alder.test")  # Alice and two invitations: three seats
    with pytest.raises(InvitationRefused) as refused:
        _invite(practice, alice, "fay@alder.test")
    assert refused.value.code == "seats_exhausted"
    Invitation.objects.filter(email="erin@alder.test").update(revoked_at=timezone.now())
    assert _invite(practice, alice, "fay@alder.test").email == "fay@alder.test"


def test_a_plan_without_custom_formats_cannot_create_one(fake_stripe, practice, alice, api, alice_client):
    subscribe(practice, "basic")
    Plan.objects.filter(key="basic").update(api_access=True)
    body = {"key": "intake", "name": "Intake", "sections": [{"heading": "Plan", "instruction": "Next steps."}]}
    response = api.post_json("/api/v1/templates", body)
    assert _refusal(response) == (402, "plan_limit_exceeded", "feature_not_in_plan")
    assert response.json()["error"]["details"]["feature"] == "custom_formats"
    page = alice_client.post(
        "/formats/new/",
        {
            "name": "Intake",
            "key": "",
            "length": "standard",
            "sections-TOTAL_FORMS": "1",
            "sections-INITIAL_FORMS": "0",
            "sections-MIN_NUM_FORMS": "1",
            "sections-MAX_NUM_FORMS": "30",
            "sections-0-ORDER": "1",
            "sections-0-key": "",
            "sections-0-heading": "Plan",
            "sections-0-instruction": "Next steps.",
        },
    )
    assert page.status_code == 402
    assert "Custom note formats is not part of the practice" in page.content.decode()
    assert not NoteTemplate.objects.filter(practice=practice).exists()
    subscribe(practice, "pro")
    assert api.post_json("/api/v1/templates", body).status_code == 201
