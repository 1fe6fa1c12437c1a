from __future__ import annotations

import re

import pytest
from django.urls import reverse

from notes.models import Note
from notes.services import note_apply_draft, note_save, note_sign
from tests.notes.factories import draft_content, draft_sections

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
JOB_1 = "job-0001"
JOB_2 = "job-0002"
UNCITED = "Client has a long history of panic attacks."


def _edit_url(note: Note) -> str:
    return reverse("notes:edit", kwargs={"pk": note.pk})


def _accept_url(note: Note) -> str:
    return reverse("notes:accept_draft", kwargs={"pk": note.pk})


def _dismiss_url(note: Note) -> str:
    return reverse("notes:dismiss_draft", kwargs={"pk": note.pk})


def _apply(note: Note, ref: str = JOB_1, **texts: str) -> Note:
    return note_apply_draft(
        session=note.session,
        draft=draft_content(texts, unsupported={"assessment": UNCITED}),
        draft_ref=ref,
        model="claude-test",
        prompt_version="v1",
    )


def _stored(note: Note) -> Note:
    return Note.objects.get(pk=note.pk)


@pytest.fixture
def pending_note(alice_note: Note, alice) -> Note:
    note_save(note=alice_note, version=1, texts={"plan": "Alice's plan: fortnightly."}, author=alice)
    _apply(alice_note, plan="AI plan: weekly CBT.")
    return _stored(alice_note)


def _banner(html: str) -> str:
    return html.split('id="pending-draft"', 1)[1].split("</section>", 1)[0]


# --- the editor --------------------------------------------------------------------------------


def test_editor_shows_no_draft_banner_without_a_pending_draft(alice_client, alice_note):
    html = alice_client.get(_edit_url(alice_note)).content.decode()

    assert "A new AI draft is available" not in html
    assert _accept_url(alice_note) not in html


def test_editor_announces_a_pending_draft_and_compares_each_section(alice_client, pending_note):
    html = alice_client.get(_edit_url(pending_note)).content.decode()

    banner = _banner(html)
    assert "A new AI draft is available" in html
    assert "Alice&#x27;s plan: fortnightly." in banner
    assert "AI plan: weekly CBT." in banner
    assert "Current text" in banner
    assert "AI draft" in banner
    assert "4 sections differ from the current note." in banner


def test_editor_offers_to_accept_the_draft_that_was_compared_over_the_current_version(alice_client, pending_note):
    banner = _banner(alice_client.get(_edit_url(pending_note)).content.decode())

    accept = banner.split(f'action="{_accept_url(pending_note)}"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="version" value="2">' in accept
    assert f'<input type="hidden" name="draft_ref" value="{JOB_1}">' in accept
    assert "Accept the AI draft" in accept
    dismiss = banner.split(f'action="{_dismiss_url(pending_note)}"', 1)[1].split("</form>", 1)[0]
    assert f'<input type="hidden" name="draft_ref" value="{JOB_1}">' in dismiss
    assert "Dismiss" in dismiss


def test_editor_of_a_signed_note_offers_only_to_dismiss_a_pending_draft(alice_client, alice_note, alice):
    note_sign(note=alice_note, version=1, signed_by=alice)
    _apply(alice_note)

    banner = _banner(alice_client.get(_edit_url(alice_note)).content.decode())

    assert _accept_url(alice_note) not in banner
    assert _dismiss_url(alice_note) in banner
    assert "This note is signed, so the draft cannot replace it" in banner


def test_editor_lists_the_statements_the_transcript_does_not_support(alice_client, alice_note):
    _apply(alice_note)

    html = alice_client.get(_edit_url(alice_note)).content.decode()

    editor = html.split("data-note-editor", 1)[1].split("</form>", 1)[0]
    assessment = editor.split('id="id_section_assessment-label"', 1)[1].split("</section>", 1)[0]
    assert "Not supported by the transcript: review" in assessment
    assert f"<li>{UNCITED}</li>" in assessment
    assert '<li class="badge badge-flag">Unsupported statements</li>' in assessment
    plan = editor.split('id="id_section_plan-label"', 1)[1].split("</section>", 1)[0]
    assert "Not supported by the transcript" not in plan
    assert "badge-flag" not in plan


def test_editor_reads_a_note_and_a_pending_draft_stored_before_statements_carried_flags(alice_client, alice_note):
    old_shape = draft_sections(unsupported={"assessment": UNCITED})
    pending = {"draft_ref": JOB_2, "sections": old_shape, "created_at": "2025-01-02T03:04:05+00:00"}
    Note.objects.filter(pk=alice_note.pk).update(sections=old_shape, pending_draft=pending)

    html = alice_client.get(_edit_url(alice_note)).content.decode()

    editor = html.split("data-note-editor", 1)[1].split("</form>", 1)[0]
    assessment = editor.split('id="id_section_assessment-label"', 1)[1].split("</section>", 1)[0]
    assert f"<li>{UNCITED}</li>" in assessment
    assert '<li class="badge badge-flag">Unsupported statements</li>' in assessment
    banner = _banner(html)
    assert f"<li>{UNCITED}</li>" in banner
    assert "Unsupported statements" in banner


def test_editor_links_each_cited_segment_to_the_session_transcript(alice_client, alice_note):
    _apply(alice_note)
    session_url = reverse("clinical_sessions:detail", kwargs={"pk": alice_note.session_id})

    html = alice_client.get(_edit_url(alice_note)).content.decode()

    objective = html.split('id="id_section_objective-label"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a href="([^"]+)" aria-label="Transcript segment (\d+)">(\d+)</a>', objective)
    assert links == [(f"{session_url}#segment-2", "2", "2"), (f"{session_url}#segment-4", "4", "4")]
    assert "Cites segments <a" in objective


def test_editor_has_download_buttons_for_docx_and_txt(alice_client, alice_note):
    html = alice_client.get(_edit_url(alice_note)).content.decode()

    export_url = reverse("notes:export", kwargs={"pk": alice_note.pk})
    assert f'href="{export_url}?format=docx">Download .docx</a>' in html
    assert f'href="{export_url}?format=txt">Download .txt</a>' in html


# --- accept ------------------------------------------------------------------------------------


def _accept_data(version: int = 2, ref: str = JOB_1) -> dict[str, str]:
    return {"version": str(version), "draft_ref": ref}


def test_accept_needs_login(client, pending_note):
    response = client.post(_accept_url(pending_note), _accept_data())

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert _stored(pending_note).version == 2


def test_accept_of_another_practices_note_is_404(charlie_client, pending_note):
    response = charlie_client.post(_accept_url(pending_note), _accept_data())

    assert response.status_code == 404
    assert _stored(pending_note).pending_draft is not None


def test_accept_refuses_get(alice_client, pending_note):
    assert alice_client.get(_accept_url(pending_note)).status_code == 405
    assert _stored(pending_note).version == 2


def test_accept_applies_the_draft_and_says_which_version(alice_client, pending_note):
    response = alice_client.post(_accept_url(pending_note), _accept_data(), follow=True)

    assert response.redirect_chain == [(_edit_url(pending_note), 302)]
    assert "AI draft accepted — version 3" in response.content.decode()
    stored = _stored(pending_note)
    assert (stored.version, stored.section_texts()["plan"], stored.pending_draft) == (3, "AI plan: weekly CBT.", None)


def test_accept_over_a_stale_version_is_a_409_and_changes_nothing(alice_client, pending_note, bob):
    note_save(note=pending_note, version=2, texts={"plan": "Bob's plan."}, author=bob)

    response = alice_client.post(_accept_url(pending_note), _accept_data(version=2))

    html = response.content.decode()
    assert response.status_code == 409
    assert "the note was saved again (now version 3)" in html
    assert "A new AI draft is available" in html
    stored = _stored(pending_note)
    assert (stored.version, stored.section_texts()["plan"]) == (3, "Bob's plan.")
    assert stored.pending_draft is not None


def test_accept_of_a_draft_replaced_by_a_newer_one_is_a_409(alice_client, pending_note):
    _apply(pending_note, JOB_2, plan="Newer AI plan.")

    response = alice_client.post(_accept_url(pending_note), _accept_data(ref=JOB_1))

    assert response.status_code == 409
    assert "That AI draft is no longer waiting" in response.content.decode()
    assert _stored(pending_note).section_texts()["plan"] == "Alice's plan: fortnightly."


def test_accept_on_a_signed_note_is_a_409(alice_client, pending_note, alice):
    note_sign(note=pending_note, version=2, signed_by=alice)

    response = alice_client.post(_accept_url(pending_note), _accept_data())

    assert response.status_code == 409
    assert "the note is signed" in response.content.decode()
    assert _stored(pending_note).section_texts()["plan"] == "Alice's plan: fortnightly."


@pytest.mark.parametrize("data", [{}, {"version": "2"}, {"draft_ref": JOB_1}, {"version": "x", "draft_ref": JOB_1}])
def test_accept_with_missing_fields_is_a_400(alice_client, pending_note, data):
    response = alice_client.post(_accept_url(pending_note), data)

    assert response.status_code == 400
    assert _stored(pending_note).version == 2


# --- dismiss -----------------------------------------------------------------------------------


def test_dismiss_needs_login(client, pending_note):
    response = client.post(_dismiss_url(pending_note), {"draft_ref": JOB_1})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert _stored(pending_note).pending_draft is not None


def test_dismiss_of_another_practices_note_is_404(charlie_client, pending_note):
    response = charlie_client.post(_dismiss_url(pending_note), {"draft_ref": JOB_1})

    assert response.status_code == 404
    assert _stored(pending_note).pending_draft is not None


def test_dismiss_refuses_get(alice_client, pending_note):
    assert alice_client.get(_dismiss_url(pending_note)).status_code == 405
    assert _stored(pending_note).pending_draft is not None


def test_dismiss_drops_the_draft_and_keeps_the_text(alice_client, pending_note):
    response = alice_client.post(_dismiss_url(pending_note), {"draft_ref": JOB_1}, follow=True)

    html = response.content.decode()
    assert "AI draft dismissed. The note is unchanged." in html
    assert "A new AI draft is available" not in html
    stored = _stored(pending_note)
    assert (stored.pending_draft, stored.version) == (None, 2)
    assert stored.section_texts()["plan"] == "Alice's plan: fortnightly."


def test_dismiss_of_an_older_draft_keeps_the_newer_one_and_shows_it(alice_client, pending_note):
    _apply(pending_note, JOB_2, plan="Newer AI plan.")

    response = alice_client.post(_dismiss_url(pending_note), {"draft_ref": JOB_1})

    html = response.content.decode()
    assert response.status_code == 409
    assert "A newer AI draft arrived" in html
    assert "Newer AI plan." in _banner(html)
    pending = _stored(pending_note).pending_draft
    assert pending is not None
    assert pending["draft_ref"] == JOB_2


def test_dismiss_without_a_draft_ref_is_a_400(alice_client, pending_note):
    response = alice_client.post(_dismiss_url(pending_note), {})

    assert response.status_code == 400
    assert _stored(pending_note).pending_draft is not None


def test_no_draft_page_puts_the_client_label_or_the_draft_ref_in_a_url(alice_client, pending_note):
    html = alice_client.get(_edit_url(pending_note)).content.decode()

    links = re.findall(r'(?:href|action|src)="([^"]*)"', html)
    assert links
    assert not [link for link in links if "AA-017" in link or JOB_1 in link]
