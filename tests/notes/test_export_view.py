from __future__ import annotations

import datetime as dt
import io

import docx
import pytest
from django.urls import reverse

from notes.models import Note
from notes.services import note_apply_draft, note_open, note_sign
from tests.factories import ClinicalSessionFactory
from tests.notes.factories import draft_content

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def dated_note(practice, alice) -> Note:
    session = ClinicalSessionFactory.create(
        practice=practice,
        clinician=alice,
        client_label="AA-017",
        note_type="soap",
        occurred_at=dt.datetime(2026, 3, 4, 10, 30, tzinfo=dt.UTC),
    )
    return note_apply_draft(
        session=session,
        draft=draft_content({"plan": "Weekly CBT."}),
        draft_ref="job-1",
        model="claude-test",
        prompt_version="v1",
    )


def _export_url(note: Note) -> str:
    return reverse("notes:export", kwargs={"pk": note.pk})


def test_export_url_is_the_documented_path(dated_note):
    assert _export_url(dated_note) == f"/notes/{dated_note.pk}/export"


@pytest.mark.parametrize(
    ("export_format", "content_type"),
    [("docx", DOCX_TYPE), ("txt", "text/plain; charset=utf-8")],
)
def test_export_answers_a_download_with_safe_headers(alice_client, dated_note, export_format, content_type):
    response = alice_client.get(_export_url(dated_note), {"format": export_format})

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="note-2026-03-04-soap.{export_format}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == "sandbox"


def test_export_docx_is_the_note_as_a_word_document(alice_client, dated_note):
    response = alice_client.get(_export_url(dated_note), {"format": "docx"})

    document = docx.Document(io.BytesIO(response.content))
    assert [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"] == ["SOAP note"]
    assert "Weekly CBT." in [p.text for p in document.paragraphs]
    header = "\n".join(p.text for p in document.sections[0].header.paragraphs)
    assert "Session 2026-03-04" in header
    assert "Alice Alder" in header


def test_export_txt_of_a_signed_note_says_who_signed(alice_client, dated_note, alice):
    note_sign(note=dated_note, version=1, signed_by=alice)

    response = alice_client.get(_export_url(dated_note), {"format": "txt"})

    text = response.content.decode("utf-8")
    assert "Signed by Alice Alder on " in text
    assert "AI-assisted draft" not in text


def test_export_of_a_note_signed_by_a_colleague_names_both(alice_client, dated_note, bob):
    note_sign(note=dated_note, version=1, signed_by=bob)

    response = alice_client.get(_export_url(dated_note), {"format": "txt"})

    text = response.content.decode("utf-8")
    assert "Signed by Bob Birch (co-signed for Alice Alder) on " in text
    assert "AI-assisted draft" not in text
    assert "Clinician: Alice Alder" in text


def test_export_never_names_the_client(alice_client, dated_note):
    for export_format in ("docx", "txt"):
        response = alice_client.get(_export_url(dated_note), {"format": export_format})

        assert "AA-017" not in response["Content-Disposition"]
        assert b"AA-017" not in response.content


def test_export_file_is_named_after_the_practice_timezone_date_of_the_session(alice_client, practice, alice, settings):
    settings.TIME_ZONE = "America/New_York"
    session = ClinicalSessionFactory.create(
        practice=practice, clinician=alice, occurred_at=dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)
    )
    note = note_open(session=session, opened_by=alice)

    response = alice_client.get(_export_url(note), {"format": "txt"})

    assert response["Content-Disposition"] == 'attachment; filename="note-2026-03-04-soap.txt"'


@pytest.mark.parametrize("query", [{"format": "pdf"}, {"format": "DOCX "}, {}, {"format": "<script>"}])
def test_export_in_another_format_is_a_400_with_a_clear_message(alice_client, dated_note, query):
    response = alice_client.get(_export_url(dated_note), query)

    body = response.content.decode()
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "use ?format=docx or ?format=txt" in body
    assert "<script>" not in body
    assert "Content-Disposition" not in response


def test_export_needs_login(client, dated_note):
    response = client.get(_export_url(dated_note), {"format": "txt"})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_export_of_another_practices_note_is_404(charlie_client, dated_note):
    assert charlie_client.get(_export_url(dated_note), {"format": "txt"}).status_code == 404


def test_clinician_cannot_export_the_note_of_a_colleagues_session(bob_client, dated_note):
    assert bob_client.get(_export_url(dated_note), {"format": "txt"}).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_export_refuses_other_methods(alice_client, dated_note, method):
    assert getattr(alice_client, method)(_export_url(dated_note) + "?format=txt").status_code == 405
