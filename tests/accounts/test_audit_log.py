"""Owners and admins read the practice's audit trail on a page and through the API; nobody else does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditEvent, Membership
from api.docs import openapi_schema
from tests.api.conftest import ApiClient
from tests.factories import ClinicalSessionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
URL = reverse("accounts:audit")
API = "/api/v1/audit-events"


def _seen(practice, *, actor=None, action=Action.VIEW, object_type="session", object_id="", session_id=None, **kw):
    return audit_record(
        action=action,
        actor=actor,
        practice_id=practice.pk,
        object_type=object_type,
        object_id=object_id,
        session_id=session_id,
        **kw,
    )


# --- The page: the trio ------------------------------------------------------------------------------


def test_the_audit_page_needs_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_clinicians_may_not_read_the_audit_page(bob_client):
    assert bob_client.get(URL).status_code == 403


def test_the_audit_page_shows_nothing_of_another_practice(alice, charlie, charlie_client, practice, other_practice):
    _seen(practice, actor=alice, object_id="alder-only-object")
    _seen(other_practice, actor=charlie, object_id="cedar-object")

    page = charlie_client.get(URL).content.decode()

    assert "cedar-object" in page
    assert "alder-only-object" not in page


def test_the_audit_page_refuses_other_methods(alice_client):
    assert alice_client.post(URL).status_code == 405


# --- The page: what it shows ---------------------------------------------------------------------------


def test_the_audit_page_lists_events_newest_first_with_who_what_and_the_session_link(alice, alice_client, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=alice, client_label="Never-On-The-Audit-Page")
    _seen(practice, actor=alice, object_id=str(session.pk), session_id=session.pk)
    _seen(practice, actor=alice, action=Action.EXPORT, object_type="note", object_id="n-1", session_id=session.pk)

    response = alice_client.get(URL)
    page = response.content.decode()

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    table = page[page.index("<tbody>") :]
    assert table.index("Exported") < table.index("Viewed")
    assert "Alice Alder" in page
    assert reverse("clinical_sessions:detail", args=[session.pk]) in page
    assert "Never-On-The-Audit-Page" not in page


def test_who_opened_this_session_includes_its_note_and_its_audio(alice, bob, alice_client, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=bob)
    other = ClinicalSessionFactory(practice=practice, clinician=bob)
    _seen(practice, actor=bob, object_id=str(session.pk), session_id=session.pk, detail="first")
    _seen(practice, actor=bob, action=Action.LISTEN, object_type="recording", session_id=session.pk, detail="second")
    _seen(practice, actor=bob, object_id=str(other.pk), session_id=other.pk, detail="unrelated")

    page = alice_client.get(URL, {"object_type": "session", "object_id": str(session.pk)}).content.decode()

    assert "(first)" in page
    assert "(second)" in page
    assert "(unrelated)" not in page


def test_what_a_member_opened_is_their_events_only(alice, bob, alice_client, practice):
    _seen(practice, actor=bob, detail="bob-opened")
    _seen(practice, actor=alice, detail="alice-opened")

    response = alice_client.get(URL, {"actor": str(bob.pk)})

    assert "(bob-opened)" in response.content.decode()
    assert "(alice-opened)" not in response.content.decode()
    assert "Activity of <strong>Bob Birch</strong>" in response.content.decode()


def test_the_audit_page_filters_by_action_and_date(alice, alice_client, practice):
    _seen(practice, actor=alice, action=Action.SIGN, detail="signed-one")
    _seen(practice, actor=alice, action=Action.VIEW, detail="viewed-one")
    AuditEvent.objects.create(
        action=Action.SIGN,
        practice_id=practice.pk,
        actor_user_id=alice.pk,
        occurred_at=timezone.now() - dt.timedelta(days=10),
        detail="signed-ten-days-ago",
    )

    page = alice_client.get(
        URL, {"action": "sign", "since": (timezone.localdate() - dt.timedelta(days=1)).isoformat()}
    ).content.decode()

    assert "(signed-one)" in page
    assert "(viewed-one)" not in page
    assert "(signed-ten-days-ago)" not in page


def test_a_bad_filter_is_a_400_with_the_reason(alice_client):
    response = alice_client.get(URL, {"actor": "not-a-uuid"})

    assert response.status_code == 400
    assert "Enter a valid UUID" in response.content.decode()


def test_the_audit_page_pages_backwards_from_the_newest(alice, alice_client, practice):
    for index in range(55):
        _seen(practice, actor=alice, detail=f"event-{index:02d}")

    first = alice_client.get(URL)
    older = alice_client.get(URL + first.context["older_url"])

    assert "(event-54)" in first.content.decode()
    assert "(event-04)" not in first.content.decode()
    assert "(event-04)" in older.content.decode()
    assert "(event-54)" not in older.content.decode()
    assert older.context["older_url"] is None


def test_the_audit_page_takes_the_same_queries_for_few_events_or_many(alice, alice_client, practice):
    _seen(practice, actor=alice)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(URL)
    for _ in range(40):
        _seen(practice, actor=alice, object_type="note", object_id="n", session_id=alice.pk)
    with CaptureQueriesContext(connection) as many:
        alice_client.get(URL)

    assert len(many) == len(few)


def test_owners_and_admins_find_the_trail_from_the_session_and_the_members_pages(alice, bob, practice, alice_client):
    session = ClinicalSessionFactory(practice=practice, clinician=bob)

    session_page = alice_client.get(reverse("clinical_sessions:detail", args=[session.pk])).content.decode()
    members_page = alice_client.get(reverse("accounts:members")).content.decode()

    assert f"{URL}?object_type=session&amp;object_id={session.pk}" in session_page
    assert f"{URL}?actor={bob.pk}" in members_page


def test_a_clinician_sees_no_link_to_the_trail_on_their_session(bob, bob_client, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=bob)

    page = bob_client.get(reverse("clinical_sessions:detail", args=[session.pk])).content.decode()

    assert URL not in page


# --- The API: the trio ----------------------------------------------------------------------------------


@pytest.fixture
def alice_api(alice, practice) -> ApiClient:
    _, raw = ApiKey.issue(practice=practice, name="SIEM export", created_by=alice)
    return ApiClient(raw)


def test_the_audit_api_needs_a_key_or_a_login():
    response = ApiClient().get(API)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_required"


def test_the_audit_api_refuses_clinicians_signed_in(bob_client):
    response = bob_client.get(API)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_audit_api_gives_a_key_its_practices_events_only(alice, charlie, alice_api, practice, other_practice):
    mine = _seen(practice, actor=alice)
    _seen(other_practice, actor=charlie)

    response = alice_api.get(API)

    assert response.status_code == 200
    assert [event["id"] for event in response.json()["results"]] == [mine.pk]


def test_the_audit_api_refuses_other_methods(alice_api):
    assert alice_api.post(API).status_code == 405
    assert alice_api.delete(API).status_code == 405


# --- The API: what it gives -------------------------------------------------------------------------------


def test_an_owner_signed_in_reads_the_trail_through_the_api_too(alice, alice_client, practice):
    seen = _seen(practice, actor=alice)

    response = alice_client.get(API, {"action": "view"})

    assert response.status_code == 200
    assert [event["id"] for event in response.json()["results"]] == [seen.pk]


def test_an_audit_event_in_the_api_names_its_actor_object_and_request(alice, alice_api, practice):
    key = ApiKey.objects.get(name="SIEM export")
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    alice_api.get(f"/api/v1/sessions/{session.pk}", HTTP_X_REQUEST_ID="req-123")

    event = alice_api.get(API, {"action": "view"}).json()["results"][0]

    assert event["actor"] == {"type": "api_key", "id": str(key.pk), "label": f"API key {key.prefix}"}
    assert (event["object_type"], event["object_id"], event["session_id"]) == (
        "session",
        str(session.pk),
        str(session.pk),
    )
    assert (event["outcome"], event["status_code"], event["request_id"], event["ip"]) == (
        "success",
        200,
        "req-123",
        "127.0.0.1",
    )
    assert event["occurred_at"].endswith("Z")


def test_the_audit_api_filters_by_object_actor_action_and_time(alice, bob, alice_api, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=bob)
    on_session = _seen(practice, actor=bob, object_id=str(session.pk), session_id=session.pk)
    on_its_note = _seen(practice, actor=alice, action=Action.SIGN, object_type="note", session_id=session.pk)
    elsewhere = _seen(practice, actor=bob, action=Action.SIGN, object_type="note", object_id="n-2")

    def ids(**params):
        return [event["id"] for event in alice_api.get(API, params).json()["results"]]

    assert ids(object_type="session", object_id=str(session.pk)) == [on_its_note.pk, on_session.pk]
    assert ids(object_type="note", object_id="n-2") == [elsewhere.pk]
    assert ids(actor=str(bob.pk)) == [elsewhere.pk, on_session.pk]
    assert ids(action="sign") == [elsewhere.pk, on_its_note.pk]
    assert ids(since=(timezone.now() + dt.timedelta(minutes=1)).isoformat()) == []


def test_the_audit_api_refuses_malformed_filters_with_the_envelope(alice_api):
    for params in ({"action": "peek"}, {"actor": "bob"}, {"since": "yesterday"}, {"object_id": "x"}):
        response = alice_api.get(API, params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "validation_error"


def test_the_audit_api_pages_with_a_cursor_newest_first(alice, alice_api, practice):
    events = [_seen(practice, actor=alice) for _ in range(5)]

    first = alice_api.get(API, {"page_size": 2}).json()
    second = alice_api.get(first["next"]).json()

    assert [event["id"] for event in first["results"]] == [events[4].pk, events[3].pk]
    assert [event["id"] for event in second["results"]] == [events[2].pk, events[1].pk]


def test_the_audit_api_is_never_cached(alice_api):
    assert alice_api.get(API)["Cache-Control"] == "no-store"


def test_the_audit_api_is_in_the_schema_with_its_filters():
    operation = openapi_schema()["paths"][API]["get"]

    assert {parameter["name"] for parameter in operation["parameters"]} >= {
        "object_type",
        "object_id",
        "actor",
        "action",
        "since",
        "cursor",
    }


def test_admins_read_the_trail_too(practice):
    admin = UserFactory()
    MembershipFactory(user=admin, practice=practice, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(admin)

    assert client.get(URL).status_code == 200
    assert client.get(API).status_code == 200
