from __future__ import annotations

import datetime as dt
import io

import docx
import pytest

from notes.exports import AI_DRAFT_LINE, export_filename, note_to_docx, note_to_txt
from notes.models import Note
from notes.services import note_apply_draft, note_sign
from tests.notes.factories import SOAP_HEADINGS, draft_content, draft_sections

pytestmark = pytest.mark.django_db

SESSION_DATE = dt.date(2026, 3, 4)
MARKDOWN_TEXT = {
    "subjective": "# Presenting concerns\n**Low mood** for two weeks.\n- Sleeping five hours.\n* Eating less.",
    "objective": "Calm, good eye contact.\n\n\n`Alert` and oriented.\n---",
    "assessment": "Mild depressive episode; risk low.",
    "plan": "Weekly CBT.\nReview in __two__ weeks.",
}


@pytest.fixture
def drafted_note(alice_session) -> Note:
    return note_apply_draft(
        session=alice_session,
        draft=draft_content(MARKDOWN_TEXT),
        draft_ref="job-1",
        model="claude-test",
        prompt_version="v1",
    )


def _docx(note: Note, **values: str) -> docx.document.Document:
    content = note_to_docx(
        note,
        session_date=SESSION_DATE,
        clinician_name="Alice Alder",
        practice_name="Alder Clinic",
        signed_by_name=values.get("signed_by_name", ""),
    )
    return docx.Document(io.BytesIO(content))


def _txt(note: Note, signed_by_name: str = "") -> bytes:
    return note_to_txt(
        note,
        session_date=SESSION_DATE,
        clinician_name="Alice Alder",
        practice_name="Alder Clinic",
        signed_by_name=signed_by_name,
    )


def _styled(document: docx.document.Document, style: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style is not None and p.style.name == style]


def _header_text(document: docx.document.Document) -> str:
    return "\n".join(p.text for p in document.sections[0].header.paragraphs)


def _body_text(document: docx.document.Document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


# --- .docx -------------------------------------------------------------------------------------


def test_docx_has_the_title_as_heading_1_and_each_section_as_heading_2(drafted_note):
    document = _docx(drafted_note)

    assert _styled(document, "Heading 1") == ["SOAP note"]
    assert _styled(document, "Heading 2") == list(SOAP_HEADINGS.values())


def test_docx_has_each_line_of_a_section_as_its_own_paragraph_without_markdown(drafted_note):
    document = _docx(drafted_note)

    body = [p.text for p in document.paragraphs]
    start = body.index("Subjective")
    assert body[start + 1 : start + 5] == [
        "Presenting concerns",
        "Low mood for two weeks.",
        "Sleeping five hours.",
        "Eating less.",
    ]
    assert "Review in two weeks." in body
    assert not [text for text in body if "**" in text or "`" in text or text.startswith("#")]


def test_docx_page_header_names_the_session_date_and_the_clinician(drafted_note):
    header = _header_text(_docx(drafted_note))

    assert "Session 2026-03-04" in header
    assert "Alice Alder" in header
    assert "Alder Clinic" in header


def test_docx_says_ai_assisted_draft_until_signed(drafted_note):
    document = _docx(drafted_note)

    assert AI_DRAFT_LINE == "AI-assisted draft — not yet reviewed and signed"
    assert AI_DRAFT_LINE in _body_text(document)
    assert AI_DRAFT_LINE in _header_text(document)


def test_docx_of_a_signed_note_says_who_signed_and_drops_the_draft_line(drafted_note, alice):
    signed = note_sign(note=drafted_note, version=1, signed_by=alice)
    assert signed.signed_at is not None

    document = _docx(signed, signed_by_name="Alice Alder")

    body, header = _body_text(document), _header_text(document)
    assert AI_DRAFT_LINE not in body
    assert AI_DRAFT_LINE not in header
    assert f"Signed by Alice Alder on {signed.signed_at:%Y-%m-%d} at" in body


def test_docx_metadata_names_the_note_and_not_the_library(drafted_note):
    properties = _docx(drafted_note).core_properties

    assert properties.title == "SOAP note"
    assert properties.author == "Alice Alder"
    assert "python-docx" not in (properties.comments or "")


def test_docx_survives_characters_word_cannot_store():
    sections = draft_sections({"plan": "Weekly\x00 sessions\x01 with a\ufeff\u200b check-in.\ud800"})
    note = Note(note_type="soap", template_name="SOAP", sections=sections)

    document = _docx(note)

    assert "Weekly sessions with a check-in." in _body_text(document)


# --- .txt --------------------------------------------------------------------------------------


def test_txt_is_utf8_with_crlf_line_endings(drafted_note):
    content = _txt(drafted_note)

    text = content.decode("utf-8")
    assert not content.startswith(b"\xef\xbb\xbf")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def test_txt_has_capital_headings_and_statements_as_lines(drafted_note):
    lines = _txt(drafted_note).decode("utf-8").split("\r\n")

    assert lines[0] == "SOAP NOTE"
    for heading in SOAP_HEADINGS.values():
        assert heading.upper() in lines
    start = lines.index("SUBJECTIVE")
    assert lines[start + 1 : start + 5] == [
        "Presenting concerns",
        "Low mood for two weeks.",
        "Sleeping five hours.",
        "Eating less.",
    ]
    objective = lines[lines.index("OBJECTIVE") + 1 : lines.index("ASSESSMENT")]
    assert objective == ["Calm, good eye contact.", "", "Alert and oriented.", ""]


def test_txt_has_no_markdown_characters(drafted_note):
    text = _txt(drafted_note).decode("utf-8")

    for marker in ("#", "**", "__", "`", "\n- ", "\n* ", "---"):
        assert marker not in text


def test_txt_names_the_session_date_the_clinician_and_the_practice(drafted_note):
    lines = _txt(drafted_note).decode("utf-8").split("\r\n")

    assert "Session date: 2026-03-04" in lines
    assert "Clinician: Alice Alder" in lines
    assert "Practice: Alder Clinic" in lines


def test_txt_says_ai_assisted_draft_until_signed_then_who_signed(drafted_note, alice):
    assert AI_DRAFT_LINE in _txt(drafted_note).decode("utf-8")

    signed = note_sign(note=drafted_note, version=1, signed_by=alice)
    text = _txt(signed, signed_by_name="Alice Alder").decode("utf-8")

    assert AI_DRAFT_LINE not in text
    assert "Signed by Alice Alder on " in text


def test_txt_of_a_note_with_an_empty_section_keeps_its_heading(alice_note):
    lines = _txt(alice_note).decode("utf-8").split("\r\n")

    start = lines.index("SUBJECTIVE")
    assert lines[start + 1 : start + 3] == ["", "OBJECTIVE"]


# --- file names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note_type", "extension", "expected"),
    [
        ("soap", "docx", "note-2026-03-04-soap.docx"),
        ("Intake Form/../x", "txt", "note-2026-03-04-intake-form-x.txt"),
        ('a"b\r\nc', "TXT", "note-2026-03-04-a-b-c.txt"),
        ("ünïcode", "txt", "note-2026-03-04-n-code.txt"),
        ("///", "txt", "note-2026-03-04-note.txt"),
    ],
)
def test_export_filename_is_a_safe_ascii_name(note_type, extension, expected):
    note = Note(note_type=note_type)

    assert export_filename(note, session_date=SESSION_DATE, extension=extension) == expected


def test_a_note_written_by_hand_is_a_draft_but_never_called_ai_assisted(alice_session, alice):
    from notes.exports import DRAFT_LINE
    from notes.services import note_open, note_save

    note = note_open(session=alice_session, opened_by=alice)
    note = note_save(note=note, version=note.version, texts={note.sections[0]["key"]: "Seen today."}, author=alice)

    document = _docx(note)
    text = _txt(note).decode("utf-8")
    assert DRAFT_LINE in _header_text(document)
    assert DRAFT_LINE in text
    assert AI_DRAFT_LINE not in _header_text(document) + _body_text(document) + text
