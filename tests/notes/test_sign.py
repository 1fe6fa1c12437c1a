from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey
from notes.models import Note, NoteRevision
from notes.services import NoteConflict, NoteLocked, note_save, note_sign

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def _stored(note: Note) -> Note:
    return Note.objects.get(pk=note.pk)


def _sign_url(note: Note) -> str:
    return reverse("notes:sign", kwargs={"pk": note.pk})


def _edit_url(note: Note) -> str:
    return reverse("notes:edit", kwargs={"pk": note.pk})


# --- service -----------------------------------------------------------------------------------


def test_signing_records_who_and_when_and_keeps_the_version(alice_note, bob):
    before = timezone.now()

    signed = note_sign(note=alice_note, version=1, signed_by=bob)

    stored = _stored(alice_note)
    assert signed.is_signed
    assert (stored.status, stored.version, stored.signed_by) == (Note.Status.SIGNED, 1, bob)
    assert stored.signed_at is not None
    assert stored.signed_at >= before
    assert NoteRevision.objects.filter(note=alice_note).count() == 1


def test_signing_a_stale_version_is_refused(alice_note, alice, bob):
    note_save(note=alice_note, version=1, texts={"plan": "Bob's late change."}, author=bob)

    with pytest.raises(NoteConflict) as raised:
        note_sign(note=alice_note, version=1, signed_by=alice)

    assert raised.value.current.version == 2
    stored = _stored(alice_note)
    assert (stored.status, stored.signed_at, stored.signed_by) == (Note.Status.DRAFT, None, None)


def test_signing_a_signed_note_again_is_refused_and_keeps_the_first_signature(alice_note, alice, bob):
    note_sign(note=alice_note, version=1, signed_by=alice)
    first_signed_at = _stored(alice_note).signed_at

    with pytest.raises(NoteLocked):
        note_sign(note=alice_note, version=1, signed_by=bob)

    stored = _stored(alice_note)
    assert (stored.signed_by, stored.signed_at) == (alice, first_signed_at)


def test_a_note_signed_by_someone_else_meanwhile_is_refused(alice_note, alice, bob):
    stale_copy = Note.objects.get(pk=alice_note.pk)
    note_sign(note=alice_note, version=1, signed_by=bob)

    with pytest.raises(NoteLocked):
        note_sign(note=stale_copy, version=1, signed_by=alice)

    assert _stored(alice_note).signed_by == bob


def test_a_signed_note_can_no_longer_be_saved(alice_note, alice):
    note_sign(note=alice_note, version=1, signed_by=alice)

    with pytest.raises(NoteLocked):
        note_save(note=alice_note, version=1, texts={"plan": "After signing."}, author=alice)

    assert _stored(alice_note).section_texts()["plan"] == ""


def test_an_owner_signing_a_colleagues_note_co_signs_it_in_her_own_name(bob_note, alice, bob):
    signed = note_sign(note=bob_note, version=1, signed_by=alice)

    stored = _stored(bob_note)
    assert (stored.signed_by, stored.signed_via_key) == (alice, None)
    assert stored.is_co_signed
    assert signed.signer_description() == "Alice Alder (co-signed for Bob Birch)"
    assert stored.session.review_state == "signed"


def test_the_sessions_clinician_signs_in_their_own_name(bob_note, bob):
    note_sign(note=bob_note, version=1, signed_by=bob)

    stored = _stored(bob_note)
    assert not stored.is_co_signed
    assert stored.signer_description() == "Bob Birch"


def test_a_signature_through_an_api_key_names_the_clinician_and_the_key(bob_note, alice, bob, practice):
    key, _ = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)

    note_sign(note=bob_note, version=1, signed_by=bob, api_key=key)

    stored = _stored(bob_note)
    assert (stored.signed_by, stored.signed_via_key) == (bob, key)
    assert not stored.is_co_signed
    assert stored.signer_description() == "Bob Birch (through the API key “EHR sync”)"


# --- view --------------------------------------------------------------------------------------


def test_an_owner_signing_on_the_page_is_shown_as_co_signing(alice_client, bob_note, alice):
    response = alice_client.post(_sign_url(bob_note), {"version": "1", "reviewed": "on"}, follow=True)

    assert "Signed by Alice Alder (co-signed for Bob Birch)" in response.content.decode()
    assert _stored(bob_note).signed_by == alice


def test_signing_from_the_session_page_goes_back_to_it(alice_client, alice_note):
    response = alice_client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on", "return_to": "session"})

    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{alice_note.session_id}/#note"
    assert _stored(alice_note).is_signed


def test_sign_needs_login(client, alice_note):
    response = client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert not _stored(alice_note).is_signed


def test_sign_of_another_practices_note_is_404(charlie_client, alice_note):
    response = charlie_client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on"})

    assert response.status_code == 404
    assert not _stored(alice_note).is_signed


def test_clinician_cannot_sign_the_note_of_a_colleagues_session(bob_client, alice_note):
    response = bob_client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on"})

    assert response.status_code == 404
    assert not _stored(alice_note).is_signed


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_sign_refuses_other_methods(alice_client, alice_note, method):
    response = getattr(alice_client, method)(_sign_url(alice_note))

    assert response.status_code == 405
    assert not _stored(alice_note).is_signed


def test_sign_with_the_review_confirmed_signs_and_shows_the_note_read_only(alice_client, alice_note):
    response = alice_client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on"}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [(_edit_url(alice_note), 302)]
    assert "Note signed. It is now read-only." in html
    assert "Signed by Alice Alder" in html
    assert 'action="' + _sign_url(alice_note) + '"' not in html
    sections = re.findall(r"<textarea[^>]*data-section-text[^>]*>", html)
    assert sections
    assert all("readonly" in textarea for textarea in sections)
    stored = _stored(alice_note)
    assert stored.is_signed
    assert stored.signed_by is not None
    assert stored.signed_by.email == "alice@alder.test"


def test_sign_without_confirming_the_review_is_a_400_and_signs_nothing(alice_client, alice_note):
    response = alice_client.post(_sign_url(alice_note), {"version": "1"})

    assert response.status_code == 400
    assert "to sign it." in response.content.decode()
    assert not _stored(alice_note).is_signed


@pytest.mark.parametrize("version", ["", "abc", "0"])
def test_sign_with_a_malformed_version_is_a_400_and_signs_nothing(alice_client, alice_note, version):
    response = alice_client.post(_sign_url(alice_note), {"version": version, "reviewed": "on"})

    assert response.status_code == 400
    assert not _stored(alice_note).is_signed


def test_sign_of_a_version_someone_saved_over_is_a_409_that_shows_the_new_version(alice_client, alice_note, bob):
    note_save(note=alice_note, version=1, texts={"plan": "Bob's late change."}, author=bob)

    response = alice_client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on"})

    html = response.content.decode()
    assert response.status_code == 409
    assert "The note was not signed: it changed (now version 2)" in html
    assert "Bob&#x27;s late change." in html
    assert re.search(r'<input type="hidden" name="version" value="2" id="sign_version"', html)
    assert not _stored(alice_note).is_signed


def test_signing_an_already_signed_note_is_a_409(alice_client, alice_note, bob):
    note_sign(note=alice_note, version=1, signed_by=bob)

    response = alice_client.post(_sign_url(alice_note), {"version": "1", "reviewed": "on"})

    assert response.status_code == 409
    assert "This note is already signed." in response.content.decode()
    assert _stored(alice_note).signed_by == bob


def test_editor_offers_signing_with_a_review_checkbox(alice_client, alice_note):
    html = alice_client.get(_edit_url(alice_note)).content.decode()

    sign_form = html.split(f'action="{_sign_url(alice_note)}"', 1)[1].split("</form>", 1)[0]
    checkbox = re.search(r'<input type="checkbox"[^>]*>', sign_form)
    assert checkbox is not None
    assert {'name="reviewed"', 'id="sign_reviewed"', "required"} <= set(checkbox.group(0)[:-1].split()[2:])
    assert '<label for="sign_reviewed">I have reviewed this note</label>' in sign_form
    assert re.search(r'<input type="hidden" name="version" value="1"', sign_form)
    assert '<button type="submit">Sign note</button>' in sign_form


def test_the_editor_form_posts_to_the_editor_even_on_a_refused_sign_page(alice_client, alice_note):
    response = alice_client.post(_sign_url(alice_note), {"version": "1"})

    assert f'<form method="post" action="{_edit_url(alice_note)}"' in response.content.decode()
