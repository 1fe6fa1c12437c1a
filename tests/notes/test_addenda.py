"""Addenda: text added to a signed note, signed by its author when created; the note itself never changes."""

from __future__ import annotations

import io

import docx
import pytest
from django.urls import reverse

from notes.models import Addendum, Note
from notes.services import (
    ADDENDUM_MAX_CHARS,
    NoteNotSigned,
    note_add_addendum,
    note_save,
    note_sign,
)
from sessions.models import ClinicalSession

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def _url(note: Note) -> str:
    return reverse("notes:add_addendum", kwargs={"pk": note.pk})


@pytest.fixture
def signed_note(alice_note: Note, alice) -> Note:
    note_save(note=alice_note, version=1, texts={"plan": "Review in two weeks."}, author=alice)
    return note_sign(note=alice_note, version=2, signed_by=alice)


# --- service -----------------------------------------------------------------------------------


def test_an_addendum_is_signed_by_its_author_and_leaves_the_note_as_it_was(signed_note, bob):
    before = Note.objects.get(pk=signed_note.pk)

    addendum = note_add_addendum(note=signed_note, text="  Called the client:\r\nno change.  ", author=bob)

    stored = Addendum.objects.get()
    assert stored == addendum
    assert (stored.text, stored.author, stored.api_key) == ("Called the client:\nno change.", bob, None)
    assert stored.created_at is not None
    after = Note.objects.get(pk=signed_note.pk)
    assert (after.version, after.sections, after.updated_at) == (before.version, before.sections, before.updated_at)


def test_a_draft_note_refuses_an_addendum(alice_note, alice):
    with pytest.raises(NoteNotSigned):
        note_add_addendum(note=alice_note, text="Too early.", author=alice)

    assert not Addendum.objects.exists()


@pytest.mark.parametrize(
    "text",
    ["", "   \n ", "x" * (ADDENDUM_MAX_CHARS + 1), "a\x00b", "bell\x07", "escape\x1b[31m", "line\u2028separator"],
)
def test_empty_long_or_control_character_addenda_are_refused(signed_note, alice, text):
    with pytest.raises(ValueError, match=r"."):
        note_add_addendum(note=signed_note, text=text, author=alice)

    assert not Addendum.objects.exists()


def test_tabs_and_line_breaks_are_text(signed_note, alice):
    addendum = note_add_addendum(note=signed_note, text="BP\t120/80\nPulse\t72", author=alice)

    assert addendum.text == "BP\t120/80\nPulse\t72"


def test_a_session_with_an_addendum_is_amended(signed_note, alice):
    assert ClinicalSession.objects.get(pk=signed_note.session_id).review_state == "signed"

    note_add_addendum(note=signed_note, text="Late entry.", author=alice)

    assert ClinicalSession.objects.get(pk=signed_note.session_id).review_state == "amended"
    assert Note.objects.get(pk=signed_note.pk).review_state() == ClinicalSession.ReviewState.AMENDED


# --- page --------------------------------------------------------------------------------------


def test_adding_an_addendum_needs_login(client, signed_note):
    response = client.post(_url(signed_note), {"text": "Anonymous."})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert not Addendum.objects.exists()


def test_another_practices_note_takes_no_addendum(charlie_client, signed_note):
    assert charlie_client.post(_url(signed_note), {"text": "Not mine."}).status_code == 404
    assert not Addendum.objects.exists()


def test_adding_an_addendum_refuses_the_wrong_method(alice_client, signed_note):
    assert alice_client.get(_url(signed_note)).status_code == 405


def test_an_owner_adds_an_addendum_and_goes_back_to_the_session(alice_client, alice, signed_note):
    response = alice_client.post(_url(signed_note), {"text": "Client called back.", "return_to": "session"})

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical_sessions:detail", kwargs={"pk": signed_note.session_id}) + (
        "#addenda"
    )
    assert Addendum.objects.get().author == alice


def test_the_editor_shows_the_addenda_and_refuses_an_invalid_one_in_place(alice_client, signed_note, alice):
    note_add_addendum(note=signed_note, text="First addendum.", author=alice)

    response = alice_client.post(_url(signed_note), {"text": "bad\x1bcharacter"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "control characters" in page
    assert "First addendum." in page
    assert Addendum.objects.count() == 1


def test_an_addendum_to_a_draft_is_refused_on_the_page(alice_client, alice_note):
    response = alice_client.post(_url(alice_note), {"text": "Too early."})

    assert response.status_code == 409
    assert "not signed yet" in response.content.decode()
    assert not Addendum.objects.exists()


# --- exports -----------------------------------------------------------------------------------


def test_exports_carry_the_addenda_after_the_note(alice_client, signed_note, bob):
    note_add_addendum(note=signed_note, text="Spoke to the pharmacist.\nDose confirmed.", author=bob)
    export = reverse("notes:export", kwargs={"pk": signed_note.pk})

    text = alice_client.get(export, {"format": "txt"}).content.decode()
    document = docx.Document(io.BytesIO(alice_client.get(export, {"format": "docx"}).content))

    lines = text.split("\r\n")
    addenda_at = lines.index("ADDENDA")
    assert lines.index("PLAN") < addenda_at
    assert lines[addenda_at + 1].startswith("Addendum — Bob Birch, ")
    assert lines[addenda_at + 1].endswith(": Spoke to the pharmacist.")
    assert lines[addenda_at + 2] == "Dose confirmed."
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    assert "Addenda" in paragraphs
    signed = next(p for p in paragraphs if p.startswith("Addendum — Bob Birch, "))
    assert signed.endswith(": Spoke to the pharmacist.")
    assert "Dose confirmed." in paragraphs
    assert "Review in two weeks." in paragraphs
