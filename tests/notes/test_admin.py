from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from formats.models import NoteTemplate
from notes.models import Note
from notes.services import note_apply_draft, note_save
from tests.factories import UserFactory
from tests.notes.factories import draft_content

pytestmark = pytest.mark.django_db

NOTE_TEXT = "Client described panic on the train."


@pytest.fixture
def staff_client(db: None) -> Client:
    staff: User = UserFactory.create(email="support@sessionscribe.test", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def written_note(alice_note: Note, alice: User) -> Note:
    return note_save(note=alice_note, version=1, texts={"subjective": NOTE_TEXT}, author=alice)


def test_staff_note_list_shows_metadata_without_note_text(staff_client, written_note):
    response = staff_client.get(reverse("admin:notes_note_changelist"))

    html = response.content.decode()
    assert response.status_code == 200
    assert str(written_note.pk) in html
    assert NOTE_TEXT not in html


def test_staff_note_page_shows_metadata_and_revisions_without_note_text(staff_client, written_note):
    response = staff_client.get(reverse("admin:notes_note_change", args=[written_note.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert written_note.template_name in html
    assert "Clinician edit" in html
    assert NOTE_TEXT not in html
    assert "subjective" not in html.lower()


def test_staff_cannot_change_a_note_through_the_admin(staff_client, written_note):
    url = reverse("admin:notes_note_change", args=[written_note.pk])

    response = staff_client.post(url, {"status": Note.Status.SIGNED, "version": "9"})

    assert response.status_code == 403
    stored = Note.objects.get(pk=written_note.pk)
    assert (stored.status, stored.version) == (Note.Status.DRAFT, 2)


def test_staff_find_a_note_by_its_session_id(staff_client, written_note, bob_note):
    response = staff_client.get(reverse("admin:notes_note_changelist"), {"q": str(written_note.session_id)})

    html = response.content.decode()
    assert str(written_note.pk) in html
    assert str(bob_note.pk) not in html


def _template_form(practice, key: str, sections: object) -> dict[str, str]:
    return {"practice": str(practice.pk), "key": key, "name": "Intake", "sections": json.dumps(sections)}


def test_staff_add_a_practice_template(staff_client, practice):
    sections = [{"key": "concerns", "heading": "Concerns", "instruction": "What the client brought."}]

    response = staff_client.post(
        reverse("admin:formats_notetemplate_add"), _template_form(practice, "intake", sections)
    )

    assert response.status_code == 302
    assert NoteTemplate.objects.get(practice=practice, key="intake").sections == sections


@pytest.mark.parametrize(
    ("key", "sections"),
    [
        ("intake", []),
        ("intake", [{"key": "concerns", "heading": "Concerns"}]),
        ("intake", [{"key": "two words", "heading": "Concerns", "instruction": "Say it."}]),
        ("intake", [{"key": "a", "heading": "A", "instruction": "x"}] * 2),
        ("intake", [{"key": "concerns", "heading": " ", "instruction": "Say it."}]),
        ("soap", [{"key": "concerns", "heading": "Concerns", "instruction": "Say it."}]),
    ],
)
def test_staff_cannot_save_a_practice_template_with_invalid_sections(staff_client, practice, key, sections):
    response = staff_client.post(reverse("admin:formats_notetemplate_add"), _template_form(practice, key, sections))

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not NoteTemplate.objects.exists()


def test_staff_note_page_shows_a_pending_ai_draft_exists_without_its_text(staff_client, written_note):
    note_apply_draft(
        session=written_note.session,
        draft=draft_content({"plan": "Drafted plan nobody on staff should read."}),
        draft_ref="job-77",
        model="claude-test",
        prompt_version="v9",
    )

    response = staff_client.get(reverse("admin:notes_note_change", args=[written_note.pk]))

    html = response.content.decode()
    assert "AI draft waiting for review" in html
    assert "job-77" in html
    assert "Drafted plan nobody on staff should read." not in html
    assert NOTE_TEXT not in html


def test_staff_revision_rows_show_which_draft_and_model_made_them(staff_client, alice_session):
    note = note_apply_draft(
        session=alice_session, draft=draft_content(), draft_ref="job-78", model="claude-test", prompt_version="v9"
    )

    html = staff_client.get(reverse("admin:notes_note_change", args=[note.pk])).content.decode()

    assert "job-78" in html
    assert "claude-test" in html
    assert "Drafted plan." not in html
