"""A clinician's day in the audit trail: Bob opens a session, listens to it, edits, signs and exports its note, and
an integration reads it through the API. The practice's owner then reads who did what, and none of the session's
content is in the trail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ApiKey, AuditEvent
from notes.models import Note
from tests.api.conftest import ApiClient
from tests.support.audit import NOTE_WORDS, download_token, phi_found_in_trail, processed_session

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action


def test_a_clinicians_session_leaves_a_trail_of_each_access_and_none_of_its_content(
    alice, bob, bob_client, alice_client, practice
):
    done = processed_session(practice=practice, clinician=bob)
    session, note = done.session, done.note
    audio = reverse("clinical_sessions:audio", args=[session.pk, done.recording.pk])

    # Bob opens the session and plays its recording (the player asks for it in pieces).
    assert bob_client.get(reverse("clinical_sessions:detail", args=[session.pk])).status_code == 200
    assert bob_client.get(audio, HTTP_RANGE="bytes=0-99").status_code == 206
    assert bob_client.get(audio, HTTP_RANGE="bytes=100-").status_code == 206
    # He rewrites every section, signs, and downloads the note for the EHR.
    texts = {f"section_{section['key']}": f"{NOTE_WORDS}, rewritten." for section in note.sections}
    assert bob_client.post(reverse("notes:edit", args=[note.pk]), {"version": note.version, **texts}).status_code == 302
    note.refresh_from_db()
    signed = bob_client.post(reverse("notes:sign", args=[note.pk]), {"version": note.version, "reviewed": "on"})
    assert signed.status_code == 302
    assert Note.objects.get(pk=note.pk).is_signed
    assert bob_client.get(reverse("notes:export", args=[note.pk]), {"format": "docx"}).status_code == 200
    # The practice's EHR integration reads the note and fetches its text file.
    key, raw_key = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    api = ApiClient(raw_key)
    assert api.get(f"/api/v1/notes/{note.pk}").status_code == 200
    token = download_token(done.note_artifact(), by=key)
    assert ApiClient().get(reverse("api:artifact_download", args=[token])).status_code == 200

    trail = list(AuditEvent.objects.about("session", str(session.pk)).order_by("id"))
    # The pipeline sent the audio, then the transcript, to the AI providers on Bob's behalf (he asked for the run).
    handovers = [(event.action, event.actor_user_id) for event in trail if event.action.startswith("sent_to_")]
    assert handovers == [(Action.SENT_TO_TRANSCRIPTION, bob.pk), (Action.SENT_TO_DRAFTING, bob.pk)]
    accesses = [(event.action, event.object_type) for event in trail if not event.action.startswith("sent_to_")]
    assert accesses == [
        (Action.VIEW, "session"),
        (Action.LISTEN, "recording"),
        (Action.EDIT, "note"),
        (Action.SIGN, "note"),
        (Action.EXPORT, "note"),
        (Action.VIEW, "note"),
        (Action.DOWNLOAD, "artifact"),
    ]
    assert {event.actor_api_key_id for event in trail[-2:]} == {key.pk}
    assert all(event.practice_id == practice.pk and event.outcome == "success" for event in trail)
    assert all(event.ip == "127.0.0.1" and event.request_id for event in trail if event.status_code)

    # Alice, the owner, reads it: "who opened this session" lists Bob's accesses, without the session's content.
    page = alice_client.get(reverse("accounts:audit"), {"object_type": "session", "object_id": str(session.pk)})
    html = page.content.decode()
    for words in ("Viewed", "Listened to the audio", "Edited", "Signed", "Exported", "Downloaded", "Sent to drafting"):
        assert words in html
    assert "Bob Birch" in html
    assert session.client_label not in html
    assert phi_found_in_trail() == []


def test_no_audit_event_of_any_phi_route_holds_phi(alice, alice_client, practice):
    done = processed_session(practice=practice, clinician=alice)
    key, raw_key = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    api = ApiClient(raw_key)
    session, note = done.session, done.note

    alice_client.get(reverse("clinical_sessions:list"))
    alice_client.post(reverse("clinical_sessions:list"), {"q": session.client_label})
    alice_client.get(reverse("clinical_sessions:detail", args=[session.pk]))
    alice_client.get(reverse("clinical_sessions:edit", args=[session.pk]))
    alice_client.get(reverse("clinical_sessions:audio", args=[session.pk, done.recording.pk]))
    alice_client.get(reverse("notes:edit", args=[note.pk]))
    alice_client.get(reverse("notes:revisions", args=[note.pk]))
    alice_client.get(reverse("notes:export", args=[note.pk]), {"format": "txt"})
    api.get("/api/v1/sessions")
    api.get(f"/api/v1/sessions/{session.pk}")
    api.get(f"/api/v1/sessions/{session.pk}/transcript")
    api.get(f"/api/v1/jobs/{done.job.pk}/result")
    api.get(f"/api/v1/notes/{note.pk}/export", {"format": "txt"})
    api.post_json("/api/v1/sessions", {"client_label": session.client_label, "occurred_at": "2026-01-05T10:00:00Z"})
    api.patch_json(f"/api/v1/sessions/{session.pk}", {"client_label": f"{session.client_label} (renamed)"})
    ApiClient().get(reverse("api:artifact_download", args=[download_token(done.note_artifact(), by=key)]))

    assert AuditEvent.objects.count() >= 16
    assert phi_found_in_trail() == []
