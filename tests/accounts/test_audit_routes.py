"""Every route that touches PHI is in the audit registry, and a request to it writes one audit event.

The URLconf is walked as in tests/test_deny_by_default.py: each route is either in ``accounts.audit_routes``
(PHI: pages, API, downloads, audio, exports, staff's reveal) or listed below as touching no PHI, with the reason.
A route in neither fails the walk, so a new route cannot go unaudited by oversight.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.admin import site as admin_site
from django.core import signing
from django.test import Client
from django.urls import NoReverseMatch, get_resolver, reverse

from accounts.audit import outcome_for_status
from accounts.audit_routes import PHI_ROUTES
from accounts.models import ApiKey, Practice, User
from jobs.api import DOWNLOAD_SALT
from tests.api.conftest import ApiClient
from tests.support.audit import Processed, download_token, events_since, last_event_id, processed_session
from tests.test_deny_by_default import ROUTES, _walk

pytestmark = pytest.mark.django_db

# Routes that touch no PHI, and why.
NON_PHI_ROUTES = {
    "<unnamed >": "redirects / to the session list",
    "healthz": "process probe",
    "readyz": "readiness probe: database, storage and queue, no rows of a practice",
    "not_found": "the 404 page for unknown paths",
    # Accounts: security events are written by the services and the authentication signals, not per request.
    "accounts:login": "logins and failed logins are audited by the authentication signals",
    "accounts:logout": "logouts are audited by the authentication signals",
    "accounts:password_change": "the member's own password",
    "accounts:password_change_done": "a confirmation page",
    "accounts:password_reset": "sends a reset link by email",
    "accounts:password_reset_done": "a confirmation page",
    "accounts:password_reset_confirm": "sets a new password from the emailed link",
    "accounts:password_reset_complete": "a confirmation page",
    "accounts:api_keys": "key names and prefixes; a key's creation is audited by accounts.services.api_key_create",
    "accounts:api_key_revoke": "audited by accounts.services.api_key_revoke",
    "accounts:practice_settings": "the practice's name and time zone",
    "accounts:retention": "retention settings; a change is audited as retention_changed",
    "accounts:audit": "the audit trail itself: ids and actions, no PHI",
    "accounts:members": "members' names and roles; invitations are audited by the invitation service",
    "accounts:member_role": "audited by accounts.services.membership_change_role",
    "accounts:member_remove": "audited by accounts.services.membership_remove",
    "accounts:invitation_resend": "an invitation's email and role",
    "accounts:invitation_revoke": "an invitation's email and role",
    "accounts:invitation_accept": "joining a practice; audited by accounts.services.invitation_accept",
    # Sessions: the practice's consent script is a template read to every client, not about any client.
    "clinical_sessions:consent_script": "the practice's consent script, the same for every client",
    # Formats are templates: headings and instructions, no client's content.
    "formats:list": "note formats: headings and instructions",
    "formats:create": "note formats: headings and instructions",
    "formats:edit": "note formats: headings and instructions",
    "formats:default": "a member's default format",
    "formats:retire": "note formats",
    "formats:restore": "note formats",
    "formats:delete": "note formats",
    "formats:move": "note formats",
    "formats:from_example": "proposes a format from the text the caller pastes; reads and stores no record",
    "api:templates": "note formats: headings and instructions",
    "api:template": "note formats: headings and instructions",
    "api:templates_from_example": "proposes a format from the text the caller sends; reads and stores no record",
    # Jobs: status, stages and error codes. Starting and retrying are audited; the handover of audio and transcript
    # to the providers is audited by the pipeline (sent_to_transcription, sent_to_drafting).
    "jobs:status": "a run's status, stage and progress",
    "jobs:cancel": "stops a run; reads and sends nothing",
    "api:job": "a run's status, stage, progress and events: ids and codes",
    "api:job_cancel": "stops a run; reads and sends nothing",
    "api:jobs_runner": "the scheduler's pass (token): counts only",
    "api:usage": "audio minutes against the plan",
    "api:schema": "the API's contract",
    "api:docs": "the API's reference page",
    "api:audit_events": "the audit trail itself: ids and actions, no PHI",
    # Billing and webhooks know practices and ids, not sessions' content.
    "billing:page": "the plan and its usage",
    "billing:checkout": "sends the owner to Stripe Checkout",
    "billing:portal": "sends the owner to Stripe's portal",
    "billing:stripe_webhook": "Stripe's events about subscriptions",
    "integrations:webhooks": "webhook endpoints: URLs of the practice's systems",
    "integrations:webhook_detail": "an endpoint and its deliveries: event types and job ids",
    "integrations:webhook_delete": "webhook endpoints",
    # Sign-in through django-allauth: logins, failures, logouts and second-factor changes are audited by the
    # authentication and allauth signals (accounts/security_events.py), not per request.
    "account_login": "logins and failed logins are audited by the authentication signals",
    "account_logout": "logouts are audited by the authentication signals",
    "account_inactive": "says the account is inactive",
    "account_change_password": "the member's own password",
    "account_reset_password": "sends a reset link by email",
    "account_reauthenticate": "confirms the member's password",
    "mfa_index": "the member's own second factors",
    "mfa_activate_totp": "second-factor changes are audited by allauth's signals",
    "mfa_deactivate_totp": "second-factor changes are audited by allauth's signals",
    "mfa_authenticate": "the second step of a login, audited with it",
    "mfa_reauthenticate": "confirms the member's second factor",
    "mfa_view_recovery_codes": "the member's own recovery codes",
    "mfa_generate_recovery_codes": "second-factor changes are audited by allauth's signals",
    "mfa_download_recovery_codes": "the member's own recovery codes",
    "mfa_list_webauthn": "the member's own passkeys: names and dates",
    "mfa_add_webauthn": "second-factor changes are audited by allauth's signals",
    "mfa_edit_webauthn": "renaming a passkey is audited by accounts.security_events.authenticator_renamed",
    "mfa_remove_webauthn": "second-factor changes are audited by allauth's signals",
    "mfa_reauthenticate_webauthn": "confirms the member's passkey",
    "mfa_login_webauthn": "logins are audited by the authentication signals",
    "metrics": "counts and timings without labels of a practice or a client",
}

# The admin's pages of each registered model, and why none shows PHI. Every ModelAdmin leaves out note, addendum
# and transcript text, client labels and file names (tests/test_admin_hides_phi.py proves it for every page);
# staff read text only through the reveal, which is in the registry.
ADMIN_MODELS_WITHOUT_PHI = {
    "accounts_user": "staff accounts and members",
    "accounts_practice": "practices",
    "accounts_membership": "roles",
    "accounts_apikey": "key names and prefixes",
    "accounts_invitation": "invitations' emails and roles",
    "accounts_auditevent": "the audit trail: ids and actions",
    "auth_group": "permission groups",
    "billing_plan": "plans",
    "billing_subscription": "subscriptions",
    "billing_usagegrant": "minutes granted",
    "billing_usagerecord": "minutes used, by job id",
    "billing_stripeevent": "Stripe's events",
    "clinical_sessions_clinicalsession": "session metadata; the client label is excluded",
    "clinical_sessions_recording": "audio metadata; the file and its name are excluded",
    "clinical_sessions_consentscript": "consent scripts, the same for every client",
    "django_q_failure": "task results: ids",
    "django_q_success": "task results: ids",
    "django_q_ormq": "queued tasks: ids",
    "django_q_schedule": "schedules",
    "formats_notetemplate": "note formats",
    "integrations_webhookendpoint": "webhook endpoints",
    "integrations_webhookdelivery": "webhook payloads: event types and ids",
    "jobs_job": "runs: status, stages, error codes, events",
    "notes_note": "note metadata; sections, drafts, revisions' and addenda's text are excluded",
    "account_emailaddress": "members' email addresses",
    "axes_accessattempt": "failed logins: account names and addresses",
    "axes_accessfailurelog": "failed logins: account names and addresses",
    "axes_accesslog": "logins: account names and addresses",
    "mfa_authenticator": "second factors, without their secrets",
}
ADMIN_SITE_PAGES = {
    "admin:index",
    "admin:app_list",
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
    "admin:autocomplete",
    "admin:view_on_site",
    "admin:auth_user_password_change",
}
_ADMIN_MODEL_PAGE = re.compile(r"^admin:(?P<model>[a-z0-9_]+?)_(add|change|changelist|delete|history)$")
_ADMIN_REDIRECT = re.compile(r"^admin:<unnamed admin/(?P<app>\w+)/(?P<model>\w+)/x/>$")


def _admin_page_without_phi(name: str) -> bool:
    if name in ADMIN_SITE_PAGES or name == "admin:<unnamed admin/1>":
        return True
    page = _ADMIN_MODEL_PAGE.match(name)
    if page:
        return page["model"] in ADMIN_MODELS_WITHOUT_PHI
    redirect = _ADMIN_REDIRECT.match(name)
    # The admin's old-style object URL redirects to the change page.
    return redirect is not None and f"{redirect['app']}_{redirect['model']}" in ADMIN_MODELS_WITHOUT_PHI


ROUTE_NAMES = sorted({name for name, _ in ROUTES})


def test_every_route_is_either_audited_or_listed_as_touching_no_phi():
    unclassified = [
        name
        for name in ROUTE_NAMES
        if name not in PHI_ROUTES and name not in NON_PHI_ROUTES and not _admin_page_without_phi(name)
    ]
    assert unclassified == [], "classify these routes in accounts/audit_routes.py or in NON_PHI_ROUTES"


def test_no_route_is_both_audited_and_listed_as_touching_no_phi():
    assert set(PHI_ROUTES) & set(NON_PHI_ROUTES) == set()
    assert not any(_admin_page_without_phi(name) for name in PHI_ROUTES)


def test_the_lists_name_only_routes_that_exist():
    names = set(ROUTE_NAMES)
    assert set(PHI_ROUTES) - names == set()
    assert set(NON_PHI_ROUTES) - names == set()
    registered = {f"{model._meta.app_label}_{model._meta.model_name}" for model in admin_site._registry}
    assert registered == set(ADMIN_MODELS_WITHOUT_PHI)


def test_the_walk_sees_the_routes_of_every_app():
    assert {"clinical_sessions:detail", "notes:export", "api:note_export", "clinical_sessions:audio"} <= set(PHI_ROUTES)
    assert len(list(_walk(get_resolver().url_patterns))) == len(ROUTES)


# --- Each PHI route writes one event ---------------------------------------------------------------

CASES = [
    (name, method)
    for name, route in sorted(PHI_ROUTES.items())
    for method, action in sorted(route.actions.items())
    if action is not None
]


@pytest.fixture
def world(practice: Practice, alice: User) -> dict[str, Any]:
    processed = processed_session(practice=practice, clinician=alice)
    key, raw_key = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    staff = User.objects.create_superuser(email="support@sessionscribe.test", password="x")
    return {"processed": processed, "key": key, "raw_key": raw_key, "staff": staff}


# The keywords the registry's URLs take, in the sets their patterns combine them.
_KWARG_SETS = [
    (),
    ("pk",),
    ("session_id",),
    ("object_id",),
    ("token",),
    ("pk", "recording_id"),
    ("pk", "version"),
    ("pk", "n"),
]


def _url(name: str, values: dict[str, Any]) -> str:
    for names in _KWARG_SETS:
        try:
            return reverse(name, kwargs={keyword: values[keyword] for keyword in names})
        except NoReverseMatch:
            continue
    raise AssertionError(f"cannot reverse {name} with {sorted(values)}")


def _values(name: str, *, session: Any, recording: Any, note: Any, job: Any, token: str) -> dict[str, Any]:
    values = {
        "pk": session,
        "recording_id": recording,
        "session_id": session,
        "version": 1,
        "n": "0",
        "object_id": note,
        "token": token,
    }
    if name.startswith(("notes:", "api:note")):
        values["pk"] = note
    if name in {"jobs:retry", "api:job_retry", "api:job_result"}:
        values["pk"] = job
    return values


def _client_for(name: str, *, raw_key: str, staff: User, member: User) -> Client:
    if name.startswith("api:"):
        return ApiClient(raw_key)
    client = Client()
    client.force_login(staff if name.startswith("admin:") else member)
    return client


def _url_and_client(name: str, world: dict[str, Any], alice: User) -> tuple[str, Client, dict[str, Any]]:
    processed: Processed = world["processed"]
    values = _values(
        name,
        session=processed.session.pk,
        recording=processed.recording.pk,
        note=processed.note.pk,
        job=processed.job.pk,
        token=download_token(processed.note_artifact(), by=world["key"]),
    )
    return _url(name, values), _client_for(name, raw_key=world["raw_key"], staff=world["staff"], member=alice), values


def _expected_object_id(name: str, values: dict[str, Any], world: dict[str, Any]) -> str:
    route = PHI_ROUTES[name]
    if name == "api:artifact_download":
        return str(world["processed"].note_artifact().pk)
    return str(values[route.id_kwarg]) if route.id_kwarg else ""


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{method} {name}" for name, method in CASES])
def test_each_phi_route_writes_one_event_with_its_action_object_and_outcome(name, method, world, alice, practice):
    url, client, values = _url_and_client(name, world, alice)
    before = last_event_id()

    response = getattr(client, method.lower())(url)

    events = [event for event in events_since(before) if event.action == PHI_ROUTES[name].actions[method]]
    assert len(events) == 1, f"{method} {url} answered {response.status_code} and wrote {events_since(before)}"
    event = events[0]
    assert event.object_type == PHI_ROUTES[name].object_type
    assert event.object_id == _expected_object_id(name, values, world)
    assert event.outcome == outcome_for_status(response.status_code)
    assert event.status_code == response.status_code
    assert event.ip == "127.0.0.1"
    assert event.request_id == response["X-Request-ID"]
    if name.startswith("api:"):
        assert (event.actor_api_key_id, event.actor_user_id) == (world["key"].pk, None)
        assert event.practice_id == practice.pk
    elif name.startswith("admin:"):
        assert event.actor_user_id == world["staff"].pk
    else:
        assert (event.actor_user_id, event.practice_id) == (alice.pk, practice.pk)


UNACCEPTED = [
    (name, method)
    for name, route in sorted(PHI_ROUTES.items())
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    if not route.accepts(method)
]


@pytest.mark.parametrize(("name", "method"), UNACCEPTED, ids=[f"{method} {name}" for name, method in UNACCEPTED])
def test_methods_a_phi_route_does_not_list_are_refused_by_its_view(name, method, alice, practice):
    # Views refuse a method before they look anything up, so made-up ids do.
    _, raw_key = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    staff = User.objects.create_superuser(email="support@sessionscribe.test", password="x")
    made_up = uuid.uuid4()
    token = signing.dumps({"artifact": str(made_up), "by": "user:x"}, salt=DOWNLOAD_SALT, compress=False)
    values = _values(name, session=made_up, recording=made_up, note=made_up, job=made_up, token=token)
    url, client = _url(name, values), _client_for(name, raw_key=raw_key, staff=staff, member=alice)

    response = getattr(client, method.lower())(url)

    assert response.status_code == 405, f"{method} {url} answered {response.status_code}: add it to the registry"
