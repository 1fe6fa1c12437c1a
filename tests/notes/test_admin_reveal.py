"""Staff read a note's or a transcript's text only through "Reveal text": with the permission, for a reason
the practice reads in its audit log, once, on a page nothing keeps."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from notes.models import Addendum
from tests.factories import UserFactory
from tests.support.audit import (
    ADDENDUM_WORDS,
    NOTE_WORDS,
    TRANSCRIPT_WORDS,
    Processed,
    events_since,
    last_event_id,
    processed_session,
)

pytestmark = pytest.mark.django_db

REASON = "Ticket 4411: the practice reports the plan section is cut short"


@pytest.fixture
def processed(practice, alice) -> Processed:
    done = processed_session(practice=practice, clinician=alice)
    Addendum.objects.create(note=done.note, text=ADDENDUM_WORDS, author=alice)
    return done


def _staff(*, allowed: bool) -> Client:
    staff: User = UserFactory.create(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_note"))
    if allowed:
        staff.user_permissions.add(Permission.objects.get(codename="reveal_phi"))
    client = Client()
    client.force_login(staff)
    return client


def _url(processed: Processed) -> str:
    return reverse("admin:notes_note_reveal", args=[processed.note.pk])


def test_staff_without_the_permission_are_refused_and_the_attempt_is_recorded(processed):
    client = _staff(allowed=False)
    before = last_event_id()

    form = client.get(_url(processed))
    reveal = client.post(_url(processed), {"what": "note", "reason": REASON})

    assert (form.status_code, reveal.status_code) == (403, 403)
    assert NOTE_WORDS not in reveal.content.decode()
    (event,) = [event for event in events_since(before) if event.action == AuditEvent.Action.STAFF_PHI_REVEAL]
    assert (event.outcome, event.practice_id) == ("denied", None)


def test_staff_with_the_permission_are_asked_for_a_reason_first(processed):
    client = _staff(allowed=True)
    before = last_event_id()

    response = client.get(_url(processed))

    assert response.status_code == 200
    assert "Reason" in response.content.decode()
    assert NOTE_WORDS not in response.content.decode()
    assert [event.action for event in events_since(before)] == []


@pytest.mark.parametrize("reason", ["", "because", "   support    needed   "])
def test_a_reveal_without_a_real_reason_shows_nothing(processed, reason):
    client = _staff(allowed=True)

    response = client.post(_url(processed), {"what": "note", "reason": reason})

    assert response.status_code == 400
    assert NOTE_WORDS not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.STAFF_PHI_REVEAL, outcome="success").exists()


def test_revealing_a_note_shows_its_text_once_and_records_who_why_on_the_practices_trail(processed, practice):
    client = _staff(allowed=True)

    response = client.post(_url(processed), {"what": "note", "reason": REASON})

    page = response.content.decode()
    assert response.status_code == 200
    assert NOTE_WORDS in page
    assert ADDENDUM_WORDS in page
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.STAFF_PHI_REVEAL)
    assert (event.outcome, event.practice_id, event.session_id) == ("success", practice.pk, processed.session.pk)
    assert (event.object_type, event.object_id) == ("note", str(processed.note.pk))
    assert event.detail == f"note: {REASON}"
    assert NOTE_WORDS not in event.detail


def test_revealing_the_transcript_shows_what_was_said(processed):
    client = _staff(allowed=True)

    response = client.post(_url(processed), {"what": "transcript", "reason": REASON})

    assert TRANSCRIPT_WORDS in response.content.decode()
    assert NOTE_WORDS not in response.content.decode()
    assert AuditEvent.objects.get(action=AuditEvent.Action.STAFF_PHI_REVEAL).detail == f"transcript: {REASON}"


def test_the_practice_reads_the_reveal_and_its_reason_in_its_audit_log(processed, alice_client):
    _staff(allowed=True).post(_url(processed), {"what": "note", "reason": REASON})

    page = alice_client.get(reverse("accounts:audit")).content.decode()

    assert "Staff revealed text" in page
    assert REASON in page


def test_the_note_page_offers_reveal_only_to_staff_allowed_to(processed):
    change = reverse("admin:notes_note_change", args=[processed.note.pk])

    assert _url(processed) in _staff(allowed=True).get(change).content.decode()
    assert _url(processed) not in _staff(allowed=False).get(change).content.decode()


def test_members_who_are_not_staff_never_reach_the_reveal(processed, alice_client):
    response = alice_client.post(_url(processed), {"what": "note", "reason": REASON})

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_revealing_an_unknown_note_is_a_404(processed):
    client = _staff(allowed=True)

    assert client.post(reverse("admin:notes_note_reveal", args=["not-a-note"]), {"reason": REASON}).status_code == 404
