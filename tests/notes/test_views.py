from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factory.declarations import Iterator

from notes.models import Note, NoteRevision
from notes.services import note_save
from tests.factories import ClinicalSessionFactory
from tests.notes.factories import NoteRevisionFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def _edit_url(note: Note) -> str:
    return reverse("notes:edit", kwargs={"pk": note.pk})


def _form_data(note: Note, version: int | None = None, **texts: str) -> dict[str, str]:
    data = {f"section_{key}": text for key, text in note.section_texts().items()}
    data.update({f"section_{key}": text for key, text in texts.items()})
    data["version"] = str(note.version if version is None else version)
    return data


def _sign(note: Note, by) -> None:
    Note.objects.filter(pk=note.pk).update(status=Note.Status.SIGNED, signed_at=timezone.now(), signed_by=by)


# --- open --------------------------------------------------------------------------------------


def test_open_note_needs_login(client, alice_session):
    response = client.post(reverse("notes:open", kwargs={"session_id": alice_session.pk}))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert not Note.objects.exists()


def test_open_note_of_another_practices_session_is_404(charlie_client, alice_session):
    response = charlie_client.post(reverse("notes:open", kwargs={"session_id": alice_session.pk}))

    assert response.status_code == 404
    assert not Note.objects.exists()


def test_open_note_refuses_get(alice_client, alice_session):
    response = alice_client.get(reverse("notes:open", kwargs={"session_id": alice_session.pk}))

    assert response.status_code == 405
    assert not Note.objects.exists()


def test_open_note_creates_the_note_and_redirects_to_the_editor(alice_client, alice_session):
    response = alice_client.post(reverse("notes:open", kwargs={"session_id": alice_session.pk}))

    note = Note.objects.get(session=alice_session)
    assert response.status_code == 302
    assert response["Location"] == _edit_url(note)


def test_open_note_twice_opens_the_same_note(alice_client, alice_session):
    url = reverse("notes:open", kwargs={"session_id": alice_session.pk})
    first = alice_client.post(url)
    second = alice_client.post(url)

    assert first["Location"] == second["Location"]
    assert Note.objects.filter(session=alice_session).count() == 1


def test_clinician_cannot_open_the_note_of_a_colleagues_session(bob_client, alice_session):
    response = bob_client.post(reverse("notes:open", kwargs={"session_id": alice_session.pk}))

    assert response.status_code == 404
    assert not Note.objects.exists()


def test_owner_can_open_the_note_of_a_clinicians_session(alice_client, bob_session):
    response = alice_client.post(reverse("notes:open", kwargs={"session_id": bob_session.pk}))

    assert response.status_code == 302
    assert Note.objects.filter(session=bob_session, note_type="dap").exists()


def test_open_note_with_an_unavailable_format_goes_back_to_the_session_with_a_message(alice_client, practice, alice):
    session = ClinicalSessionFactory.create(practice=practice, clinician=alice, note_type="retired_format")

    response = alice_client.post(reverse("notes:open", kwargs={"session_id": session.pk}), follow=False)

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical_sessions:detail", kwargs={"pk": session.pk})
    assert not Note.objects.exists()


# --- edit --------------------------------------------------------------------------------------


def test_editor_needs_login(client, alice_note):
    response = client.get(_edit_url(alice_note))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_editor_save_needs_login(client, alice_note):
    response = client.post(_edit_url(alice_note), _form_data(alice_note, subjective="Anonymous edit."))

    assert response.status_code == 302
    assert Note.objects.get(pk=alice_note.pk).version == 1


def test_editor_of_another_practices_note_is_404(charlie_client, alice_note):
    assert charlie_client.get(_edit_url(alice_note)).status_code == 404
    response = charlie_client.post(_edit_url(alice_note), _form_data(alice_note, subjective="Charlie was here."))

    assert response.status_code == 404
    assert Note.objects.get(pk=alice_note.pk).section_texts()["subjective"] == ""


def test_editor_of_an_unknown_note_is_404(alice_client):
    assert alice_client.get(reverse("notes:edit", kwargs={"pk": uuid.uuid4()})).status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_editor_refuses_other_methods(alice_client, alice_note, method):
    response = getattr(alice_client, method)(_edit_url(alice_note))

    assert response.status_code == 405


def test_clinician_cannot_see_the_note_of_a_colleagues_session(bob_client, alice_note):
    assert bob_client.get(_edit_url(alice_note)).status_code == 404


def test_owner_can_edit_the_note_of_a_clinicians_session(alice_client, bob_note):
    response = alice_client.post(_edit_url(bob_note), _form_data(bob_note, data="Reviewed by the owner."))

    assert response.status_code == 302
    assert Note.objects.get(pk=bob_note.pk).section_texts()["data"] == "Reviewed by the owner."


def test_editor_shows_one_labelled_textarea_per_section_and_the_version(alice_client, alice_note):
    response = alice_client.get(_edit_url(alice_note))

    html = response.content.decode()
    assert response.status_code == 200
    for section in alice_note.sections:
        field_id = f"id_section_{section['key']}"
        assert f'<label for="{field_id}"' in html
        assert re.search(rf'<textarea[^>]*id="{field_id}"', html)
        assert f">{section['heading']}</label>" in html
    assert re.search(r'<input type="hidden" name="version" value="1"', html)


def test_editor_shows_the_session_facts_and_links_back_to_it(alice_client, alice_note, alice_session):
    response = alice_client.get(_edit_url(alice_note))

    html = response.content.decode()
    assert reverse("clinical_sessions:detail", kwargs={"pk": alice_session.pk}) in html
    assert "Alice Alder" in html
    assert "AA-017" in html
    assert reverse("notes:revisions", kwargs={"pk": alice_note.pk}) in html


def test_editor_copy_buttons_are_hidden_until_the_script_runs(alice_client, alice_note):
    response = alice_client.get(_edit_url(alice_note))

    html = response.content.decode()
    copy_buttons = re.findall(r"<button[^>]*data-copy-(?:note|section)[^>]*>", html)
    assert len(copy_buttons) == 1 + len(alice_note.sections)
    assert all(" hidden" in button for button in copy_buttons)
    assert re.search(r'<script src="[^"]*js/note_editor\.js" defer></script>', html)
    assert "onclick" not in html
    assert "style=" not in html


def test_editor_save_stores_the_text_and_says_which_version(alice_client, alice_note):
    response = alice_client.post(
        _edit_url(alice_note), _form_data(alice_note, subjective="Reports better sleep.\r\nLess worry."), follow=True
    )

    stored = Note.objects.get(pk=alice_note.pk)
    assert stored.version == 2
    assert stored.section_texts()["subjective"] == "Reports better sleep.\nLess worry."
    assert response.redirect_chain == [(_edit_url(alice_note), 302)]
    assert "Saved — version 2" in response.content.decode()
    revision = NoteRevision.objects.select_related("author").get(note=alice_note, version=2)
    assert revision.author is not None
    assert revision.author.email == "alice@alder.test"


def test_editor_save_without_changes_keeps_the_version(alice_client, alice_note):
    response = alice_client.post(_edit_url(alice_note), _form_data(alice_note), follow=True)

    assert Note.objects.get(pk=alice_note.pk).version == 1
    assert "No changes to save." in response.content.decode()


def test_editor_save_without_a_version_is_refused_and_keeps_the_typed_text(alice_client, alice_note):
    data = _form_data(alice_note, plan="Typed plan.")
    del data["version"]

    response = alice_client.post(_edit_url(alice_note), data)

    assert response.status_code == 400
    assert "Typed plan." in response.content.decode()
    assert Note.objects.get(pk=alice_note.pk).version == 1


def test_editor_stale_save_answers_409_and_keeps_the_typed_text(alice_client, alice_note, bob):
    note_save(note=alice_note, version=1, texts={"plan": "Bob's plan: weekly sessions."}, author=bob)

    response = alice_client.post(
        _edit_url(alice_note), _form_data(alice_note, version=1, plan="Alice's plan: fortnightly.", subjective="")
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Bob Birch saved a newer version (2) at" in html
    assert "Nothing was overwritten." in html
    assert re.search(r'<textarea[^>]*id="id_section_plan"[^>]*>\s*Alice&#x27;s plan: fortnightly.</textarea>', html)
    assert re.search(r'id="id_section_plan-saved-text">Bob&#x27;s plan: weekly sessions.</p>', html)
    # A section the other save did not touch shows no saved copy.
    assert 'id="id_section_subjective-saved-text"' not in html
    assert re.search(r'<input type="hidden" name="version" value="1"', html)
    stored = Note.objects.get(pk=alice_note.pk)
    assert (stored.version, stored.section_texts()["plan"]) == (2, "Bob's plan: weekly sessions.")


def test_signed_note_is_shown_read_only(alice_client, alice_note, alice):
    _sign(alice_note, alice)

    response = alice_client.get(_edit_url(alice_note))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Signed by Alice Alder" in html
    assert 'type="submit"' not in html.split("data-note-editor", 1)[1].split("</form>", 1)[0]
    textareas = re.findall(r"<textarea[^>]*data-section-text[^>]*>", html)
    assert textareas
    assert all("readonly" in textarea for textarea in textareas)
    # The one field left to write in is the addendum's.
    writable = [textarea for textarea in re.findall(r"<textarea[^>]*>", html) if "readonly" not in textarea]
    assert len(writable) == 1
    assert 'name="text"' in writable[0]


def test_signed_note_refuses_a_save_with_409_and_keeps_the_typed_text(alice_client, alice_note, alice):
    _sign(alice_note, alice)

    response = alice_client.post(_edit_url(alice_note), _form_data(alice_note, plan="Late change."))

    html = response.content.decode()
    assert response.status_code == 409
    assert "can no longer be edited" in html
    assert "Late change." in html
    stored = Note.objects.get(pk=alice_note.pk)
    assert (stored.version, stored.section_texts()["plan"]) == (1, "")


# --- revisions ---------------------------------------------------------------------------------


def _revisions_url(note: Note) -> str:
    return reverse("notes:revisions", kwargs={"pk": note.pk})


def _revision_url(note: Note, version: int) -> str:
    return reverse("notes:revision", kwargs={"pk": note.pk, "version": version})


def _add_revisions(note: Note, author, count: int) -> None:
    for _ in range(count):
        note_save(note=note, version=note.version, texts={"plan": f"Plan after version {note.version}"}, author=author)


def test_revision_list_needs_login(client, alice_note):
    response = client.get(_revisions_url(alice_note))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_revision_list_of_another_practices_note_is_404(charlie_client, alice_note):
    assert charlie_client.get(_revisions_url(alice_note)).status_code == 404


def test_revision_list_refuses_post(alice_client, alice_note):
    assert alice_client.post(_revisions_url(alice_note)).status_code == 405


def test_revision_list_shows_the_history_newest_first(alice_client, alice_note, bob):
    _add_revisions(alice_note, bob, 2)

    response = alice_client.get(_revisions_url(alice_note))

    html = response.content.decode()
    versions = [int(v) for v in re.findall(r">Version (\d+)</a>", html)]
    assert versions == [3, 2, 1]
    assert "Bob Birch" in html
    assert "Clinician edit" in html
    assert "Created" in html


def test_revision_list_query_count_does_not_grow_with_the_history(alice_client, alice_note, bob):
    _add_revisions(alice_note, bob, 1)
    with CaptureQueriesContext(connection) as few:
        assert alice_client.get(_revisions_url(alice_note)).status_code == 200

    _add_revisions(alice_note, bob, 15)
    NoteRevisionFactory.create_batch(3, note=alice_note, version=Iterator(range(100, 103)), author=None)
    with CaptureQueriesContext(connection) as many:
        response = alice_client.get(_revisions_url(alice_note))

    assert response.content.decode().count(">Version ") == 20
    assert len(many) == len(few)


def test_revision_needs_login(client, alice_note):
    response = client.get(_revision_url(alice_note, 1))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_revision_of_another_practices_note_is_404(charlie_client, alice_note):
    assert charlie_client.get(_revision_url(alice_note, 1)).status_code == 404


def test_revision_refuses_post(alice_client, alice_note):
    assert alice_client.post(_revision_url(alice_note, 1)).status_code == 405


def test_revision_that_does_not_exist_is_404(alice_client, alice_note):
    assert alice_client.get(_revision_url(alice_note, 99)).status_code == 404


def test_revision_shows_its_text_and_which_sections_differ_from_the_current_note(alice_client, alice_note, alice):
    note_save(note=alice_note, version=1, texts={"subjective": "First account.", "plan": "Old plan."}, author=alice)
    note_save(note=alice_note, version=2, texts={"plan": "New plan."}, author=alice)

    response = alice_client.get(_revision_url(alice_note, 2))

    html = response.content.decode()
    assert response.status_code == 200
    assert "First account." in html
    assert "Old plan." in html
    assert "New plan." in html
    assert "1 section differs from the current version (3)" in html
    assert html.count("Differs from current") == 1


def test_revision_query_count_does_not_grow_with_the_history(alice_client, alice_note, alice):
    _add_revisions(alice_note, alice, 1)
    with CaptureQueriesContext(connection) as few:
        assert alice_client.get(_revision_url(alice_note, 1)).status_code == 200

    _add_revisions(alice_note, alice, 20)
    with CaptureQueriesContext(connection) as many:
        assert alice_client.get(_revision_url(alice_note, 1)).status_code == 200

    assert len(many) == len(few)


def test_no_note_page_puts_the_client_label_in_a_url(alice_client, alice_note):
    pages = [_edit_url(alice_note), _revisions_url(alice_note), _revision_url(alice_note, 1)]
    for page in pages:
        html = alice_client.get(page).content.decode()
        links = re.findall(r'(?:href|action|src)="([^"]*)"', html)
        assert links
        assert not [link for link in links if "AA-017" in link]


def test_editor_save_leaves_sections_missing_from_the_submission_alone(alice_client, alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Keep this plan."}, author=alice)

    response = alice_client.post(_edit_url(alice_note), {"version": "2", "section_subjective": "Only this."})

    assert response.status_code == 302
    texts = Note.objects.get(pk=alice_note.pk).section_texts()
    assert (texts["subjective"], texts["plan"]) == ("Only this.", "Keep this plan.")


def test_editor_stale_save_over_your_own_newer_save_says_it_was_you(alice_client, alice_note, alice):
    note_save(note=alice_note, version=1, texts={"plan": "Saved in another tab."}, author=alice)

    response = alice_client.post(_edit_url(alice_note), _form_data(alice_note, version=1, plan="This tab."))

    assert response.status_code == 409
    assert "You saved a newer version (2) at" in response.content.decode()


@pytest.mark.parametrize("version", ["", "abc", "0", "-3"])
def test_editor_save_with_a_malformed_version_is_a_400_and_changes_nothing(alice_client, alice_note, version):
    response = alice_client.post(_edit_url(alice_note), _form_data(alice_note, plan="Typed.") | {"version": version})

    assert response.status_code == 400
    assert Note.objects.get(pk=alice_note.pk).version == 1


def test_editor_conflict_page_offers_to_load_the_saved_version_instead_of_saving(alice_client, alice_note, bob):
    note_save(note=alice_note, version=1, texts={"plan": "Bob's plan."}, author=bob)

    response = alice_client.post(_edit_url(alice_note), _form_data(alice_note, version=1, plan="Mine."))

    html = response.content.decode()
    assert f'<a class="button" href="{_edit_url(alice_note)}">Load the saved version (2)</a>' in html
    assert "data-save" not in html
    assert "data-unsaved" in html
