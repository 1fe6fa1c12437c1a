from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions.models import ClinicalSession
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db


def _session_of(user, **kwargs):
    return ClinicalSessionFactory(practice=user.memberships.get().practice, clinician=user, **kwargs)


# --- list -----------------------------------------------------------------------------------


def test_session_list_needs_login(client):
    response = client.get(reverse("clinical_sessions:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_session_list_shows_own_practices_sessions_only(alice, alice_client, charlie):
    _session_of(alice, client_label="AA-1")
    _session_of(charlie, client_label="CC-9")
    response = alice_client.get(reverse("clinical_sessions:list"))
    assert response.status_code == 200
    assert b"AA-1" in response.content
    assert b"CC-9" not in response.content


def test_owner_sees_the_whole_practice_but_a_clinician_only_their_own(alice, bob, alice_client, bob_client):
    _session_of(alice, client_label="owner-session")
    _session_of(bob, client_label="bob-session")
    owner_page = alice_client.get(reverse("clinical_sessions:list")).content
    clinician_page = bob_client.get(reverse("clinical_sessions:list")).content
    assert b"owner-session" in owner_page
    assert b"bob-session" in owner_page
    assert b"bob-session" in clinician_page
    assert b"owner-session" not in clinician_page


def test_session_list_refuses_other_methods(alice_client):
    assert alice_client.put(reverse("clinical_sessions:list")).status_code == 405


def _filtered(client, **filters) -> bytes:
    url = reverse("clinical_sessions:list")
    response = client.post(url, filters)
    assert response.status_code == 302
    # The search stays out of the URL: the redirect goes to the bare list.
    assert response["Location"] == url
    return bytes(client.get(url).content)


def test_session_list_searches_and_filters(alice, alice_client):
    _session_of(alice, client_label="JD-42", note_type="dap")
    _session_of(alice, client_label="KL-7", note_type="soap", status=ClinicalSession.Status.READY)
    by_label = _filtered(alice_client, q="jd")
    assert b"JD-42" in by_label
    assert b"KL-7" not in by_label
    by_status = _filtered(alice_client, status="draft")
    assert b"KL-7" in by_status
    assert b"JD-42" not in by_status
    by_type = _filtered(alice_client, note_type="dap")
    assert b"JD-42" in by_type
    assert b"KL-7" not in by_type
    cleared = _filtered(alice_client, clear="1")
    assert b"JD-42" in cleared
    assert b"KL-7" in cleared


def test_a_search_never_puts_the_client_label_in_a_link(alice, alice_client):
    for number in range(30):
        _session_of(alice, client_label=f"JD-{number:02d}")
    page = _filtered(alice_client, q="JD-").decode()
    assert "Page 1 of 2" in page
    assert "?page=2" in page
    assert "q=" not in page


def test_session_list_filters_by_date_range(alice, alice_client):
    _session_of(alice, client_label="old-one", occurred_at=timezone.now() - dt.timedelta(days=40))
    _session_of(alice, client_label="new-one", occurred_at=timezone.now() - dt.timedelta(hours=1))
    since = (timezone.now() - dt.timedelta(days=7)).date().isoformat()
    page = _filtered(alice_client, date_from=since)
    assert b"new-one" in page
    assert b"old-one" not in page


def test_session_list_ignores_invalid_filters_instead_of_failing(alice_client):
    _filtered(alice_client, date_from="not-a-date")
    response = alice_client.get(reverse("clinical_sessions:list"), {"page": "x"})
    assert response.status_code == 200


def test_session_list_paginates(alice, alice_client):
    for number in range(30):
        _session_of(alice, client_label=f"P-{number:02d}", occurred_at=timezone.now() - dt.timedelta(minutes=number))
    first = alice_client.get(reverse("clinical_sessions:list")).content.decode()
    second = alice_client.get(reverse("clinical_sessions:list"), {"page": 2}).content.decode()
    assert "P-00" in first
    assert "P-29" not in first
    assert "P-29" in second
    assert "Page 2 of 2" in second


def test_session_list_query_count_does_not_grow_with_rows(alice, alice_client):
    url = reverse("clinical_sessions:list")
    _session_of(alice)
    _filtered(alice_client, status="awaiting_recording")
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    for _ in range(20):
        _session_of(alice)
    with CaptureQueriesContext(connection) as many:
        alice_client.get(url)
    assert len(many) == len(few)


# --- create, detail, edit, delete -----------------------------------------------------------


def test_clinician_creates_a_session(bob, bob_client):
    response = bob_client.post(
        reverse("clinical_sessions:create"),
        {"client_label": " RB-3 ", "occurred_at": "2026-11-20T10:30", "note_type": "birp", "consent_method": "verbal"},
    )
    session = ClinicalSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("clinical_sessions:detail", kwargs={"pk": session.pk})
    assert session.client_label == "RB-3"
    assert session.clinician == bob
    assert session.practice == bob.memberships.get().practice
    assert session.note_type == "birp"
    assert session.consent_recorded_by == bob
    assert session.consent_recorded_at is not None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"client_label": "   ", "occurred_at": "2026-11-20T10:30", "note_type": "soap"},
        {"client_label": "X", "occurred_at": "yesterday", "note_type": "soap"},
        {"client_label": "X", "occurred_at": "2026-11-20T10:30", "note_type": "unknown"},
        {"client_label": "X" * 500, "occurred_at": "2026-11-20T10:30", "note_type": "soap"},
        {"client_label": "X", "occurred_at": "2999-01-01T10:30", "note_type": "soap"},
    ],
)
def test_invalid_session_forms_answer_400_and_create_nothing(alice_client, data):
    response = alice_client.post(reverse("clinical_sessions:create"), data)
    assert response.status_code == 400
    assert not ClinicalSession.objects.exists()


def test_user_without_a_practice_cannot_create_sessions(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.post(
        reverse("clinical_sessions:create"),
        {"client_label": "X", "occurred_at": "2026-11-20T10:30", "note_type": "soap"},
    )
    assert response.status_code == 302
    assert not ClinicalSession.objects.exists()


def test_session_detail_shows_the_session(alice, alice_client):
    session = _session_of(alice, client_label="DX-1")
    response = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk}))
    assert response.status_code == 200
    assert b"DX-1" in response.content
    assert b"No recording yet" in response.content


def test_session_edit_changes_fields_and_leaves_consent_to_the_session_page(alice, alice_client):
    session = _session_of(alice, client_label="before", consent_status="declined")
    response = alice_client.post(
        reverse("clinical_sessions:edit", kwargs={"pk": session.pk}),
        {"client_label": "after", "occurred_at": "2026-11-19T09:00", "note_type": "dap", "consent_method": "written"},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.client_label == "after"
    assert session.note_type == "dap"
    assert session.consent_status == "declined"
    assert session.consent_method == ""


def test_session_delete_asks_then_deletes(alice, alice_client):
    session = _session_of(alice)
    url = reverse("clinical_sessions:delete", kwargs={"pk": session.pk})
    assert alice_client.get(url).status_code == 200
    assert ClinicalSession.objects.filter(pk=session.pk).exists()
    response = alice_client.post(url)
    assert response.status_code == 302
    assert not ClinicalSession.objects.filter(pk=session.pk).exists()


@pytest.mark.parametrize(
    ("name", "method"),
    [("detail", "get"), ("edit", "get"), ("edit", "post"), ("delete", "get"), ("delete", "post"), ("upload", "post")],
)
def test_another_practices_session_is_a_404_everywhere(alice, charlie_client, name, method):
    session = _session_of(alice)
    url = reverse(f"clinical_sessions:{name}", kwargs={"pk": session.pk})
    response = getattr(charlie_client, method)(url, {"client_label": "hijack"})
    assert response.status_code == 404
    session.refresh_from_db()
    assert session.client_label != "hijack"


def test_a_clinician_cannot_open_a_colleagues_session(alice, bob_client):
    session = _session_of(alice)
    assert bob_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).status_code == 404


@pytest.mark.parametrize(
    ("name", "method"), [("detail", "post"), ("detail", "delete"), ("upload", "get"), ("edit", "put")]
)
def test_session_pages_refuse_the_wrong_method(alice, alice_client, name, method):
    session = _session_of(alice)
    url = reverse(f"clinical_sessions:{name}", kwargs={"pk": session.pk})
    assert getattr(alice_client, method)(url).status_code == 405


# --- states at a glance -----------------------------------------------------------------------


def _list_rows(client) -> list[str]:
    page = client.get(reverse("clinical_sessions:list")).content.decode()
    return re.findall(r'<tr class="session-row[^"]*">(.*?)</tr>', page, flags=re.DOTALL)


@pytest.mark.parametrize(
    ("status", "review_state", "shown"),
    [
        (ClinicalSession.Status.AWAITING_RECORDING, "", "Awaiting recording"),
        (ClinicalSession.Status.RECORDED, "", "Recorded"),
        (ClinicalSession.Status.PROCESSING, "", "Processing"),
        (ClinicalSession.Status.FAILED, "", "Failed"),
        (ClinicalSession.Status.READY, "", "Draft"),
        (ClinicalSession.Status.READY, "draft", "Draft"),
        (ClinicalSession.Status.READY, "needs_review", "Needs review"),
        (ClinicalSession.Status.READY, "signed", "Signed"),
        (ClinicalSession.Status.PROCESSING, "signed", "Signed"),
        (ClinicalSession.Status.READY, "amended", "Amended"),
        (ClinicalSession.Status.AWAITING_RECORDING, "draft", "Draft"),
        (ClinicalSession.Status.PROCESSING, "needs_review", "Processing"),
    ],
)
def test_the_list_and_the_session_page_show_one_clear_state(alice, alice_client, status, review_state, shown):
    session = _session_of(alice, status=status, review_state=review_state)

    (row,) = _list_rows(alice_client)
    detail = alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()

    assert re.search(rf'<span class="badge badge-[a-z_]+">{shown}</span>', row)
    assert re.search(rf'id="session-status">{shown}</span>', detail)
    assert "Note ready" not in row


@pytest.mark.parametrize(
    ("wanted", "label"),
    [("draft", "D-1"), ("needs_review", "N-1"), ("signed", "S-1"), ("amended", "A-1"), ("processing", "P-1")],
)
def test_the_list_filters_by_state(alice, alice_client, wanted, label):
    ready = ClinicalSession.Status.READY
    _session_of(alice, client_label="D-1", status=ready, review_state="draft")
    _session_of(alice, client_label="N-1", status=ready, review_state="needs_review")
    _session_of(alice, client_label="S-1", status=ready, review_state="signed")
    _session_of(alice, client_label="A-1", status=ready, review_state="amended")
    _session_of(alice, client_label="P-1", status=ClinicalSession.Status.PROCESSING)

    page = _filtered(alice_client, status=wanted).decode()

    shown = set(re.findall(r"<td data-label=\"Client\">([A-Z]-1)</td>", page))
    assert shown == {label}


def test_todays_sessions_come_first_then_the_newest(alice, alice_client):
    now = timezone.localtime()
    today = now.replace(hour=12, minute=0, second=0, microsecond=0)
    _session_of(alice, client_label="yesterday", occurred_at=today - dt.timedelta(days=1))
    _session_of(alice, client_label="tomorrow", occurred_at=today + dt.timedelta(days=1))
    _session_of(alice, client_label="today-early", occurred_at=today.replace(hour=8))
    _session_of(alice, client_label="today-late", occurred_at=today.replace(hour=17))
    _session_of(alice, client_label="last-month", occurred_at=today - dt.timedelta(days=30))

    rows = _list_rows(alice_client)

    labels = [re.search(r'data-label="Client">([^<]+)<', row).group(1) for row in rows]  # type: ignore[union-attr]
    assert labels == ["today-late", "today-early", "tomorrow", "yesterday", "last-month"]
    assert "Today" in rows[0]
    assert "Today" not in rows[2]


def test_the_list_query_count_stays_the_same_whatever_the_rows_states(alice, alice_client):
    url = reverse("clinical_sessions:list")
    _session_of(alice)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    for review_state in ("draft", "needs_review", "signed", "amended", ""):
        for status in ClinicalSession.Status.values:
            _session_of(alice, status=status, review_state=review_state)
    with CaptureQueriesContext(connection) as many:
        alice_client.get(url)
    assert len(many) == len(few)


def test_the_new_session_form_starts_at_now_in_the_practices_time_zone(alice_client, practice):
    import datetime as dt
    import zoneinfo

    from django.utils import timezone

    practice.time_zone = "Asia/Tokyo"
    practice.save(update_fields=["time_zone"])
    page = alice_client.get(reverse("clinical_sessions:create")).content.decode()
    now_in_tokyo = timezone.now().astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    shown = {f"{moment:%Y-%m-%dT%H:%M}" for moment in (now_in_tokyo, now_in_tokyo - dt.timedelta(minutes=1))}
    assert any(f'value="{value}"' in page for value in shown)
