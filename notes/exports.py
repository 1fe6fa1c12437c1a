"""A note as a file to take into a record system: Word (.docx) and paste-safe plain text (.txt).

Pure functions: they take a Note and plain values (session date, names) and return bytes. They never write
to the database nor look at a request, so a view, the API and the pipeline produce the very same file.

Plain text is UTF-8 without a byte-order mark (a BOM pastes into some record systems as an invisible
character) with CRLF line endings, which every Windows editor and record-system import shows as lines and
every other system accepts. Headings are in capitals, one statement per line, and markdown markers an AI
draft may have left (``#``, ``**``, bullets) are removed from both formats.

The client label is left out of both files: the clinician files the note under the client in their record
system, and a file that travels by e-mail or download folder should not name them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import docx
from django.utils import timezone

from notes.models import Note
from sessions.consent import consent_summary

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TXT_CONTENT_TYPE = "text/plain; charset=utf-8"
AI_DRAFT_LINE = "AI-assisted draft — not yet reviewed and signed"
DRAFT_LINE = "Draft — not yet signed"
TXT_NEWLINE = "\r\n"

# Characters that XML 1.0 (and so Word) refuses, or that paste as invisible junk: C0 controls other than tab
# and newline, lone surrogates, non-characters, zero-width characters and the byte-order mark.
_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\u200b-\u200d\u2060\ufeff]")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
# "+ 2 kg" is a measurement more often than a bullet, so only "-", "*" and "•" are list markers.
_MARKDOWN_BULLET = re.compile(r"^(\s*)[-*•]\s+")
# Not "___" (a blank to fill in) nor "> ..." (clinical shorthand for "more than"): those stay as typed.
_MARKDOWN_RULE = re.compile(r"^\s*([-*])(\s*\1){2,}\s*$")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MARKDOWN_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
# Left-over double asterisks and backticks are markup; a lone run of underscores is a blank to fill in.
_MARKDOWN_LEFTOVER = re.compile(r"\*\*|`")
_FILENAME_UNSAFE = re.compile(r"[^a-z0-9]+")


def clean_line(line: str) -> str:
    """One line of note text without markdown markers or characters that break pasting or Word."""
    line = _UNSAFE_CHARACTERS.sub("", line).replace("\u00a0", " ")
    if _MARKDOWN_RULE.match(line):
        return ""
    line = _MARKDOWN_HEADING.sub("", line)
    line = _MARKDOWN_BULLET.sub(r"\1", line)
    line = _MARKDOWN_LINK.sub(r"\1 (\2)", line)
    line = _MARKDOWN_STRONG.sub(r"\2", line)
    return _MARKDOWN_LEFTOVER.sub("", line).rstrip()


def clean_lines(text: str) -> list[str]:
    """The text's lines, cleaned, without leading or trailing blank lines and with runs of blanks made one."""
    lines: list[str] = []
    # splitlines also breaks on the Unicode line and paragraph separators, which paste as one long line.
    for raw in text.splitlines():
        line = clean_line(raw)
        if not line.strip():
            if lines and lines[-1]:
                lines.append("")
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def note_title(note: Note) -> str:
    return clean_line(f"{note.template_name} note")


def unsigned_line(note: Note) -> str:
    """An unsigned note says it is a draft, and an AI-assisted one when an AI draft went into it."""
    return AI_DRAFT_LINE if note.holds_ai_draft() else DRAFT_LINE


def status_line(note: Note, *, signed_by_name: str = "") -> str:
    """ "Signed by X on date" for a signed note, otherwise the AI-assisted draft warning."""
    if not note.is_signed:
        return unsigned_line(note)
    signer = f"Signed by {clean_line(signed_by_name)}" if signed_by_name.strip() else "Signed"
    if note.signed_at is None:
        return signer
    moment = timezone.localtime(note.signed_at)
    return f"{signer} on {moment:%Y-%m-%d} at {moment:%H:%M} ({moment.tzname()})"


def _sections(note: Note) -> Iterable[tuple[str, list[str]]]:
    for section in note.sections:
        heading = clean_line(str(section.get("heading") or section.get("key") or ""))
        yield heading, clean_lines(str(section.get("text") or ""))


def export_filename(note: Note, *, session_date: dt.date, extension: str) -> str:
    """``note-<yyyy-mm-dd>-<note type>.<ext>``: ASCII only, nothing about the client."""
    note_type = _FILENAME_UNSAFE.sub("-", note.note_type.lower()).strip("-")[:40].strip("-") or "note"
    suffix = _FILENAME_UNSAFE.sub("", extension.lower()) or "bin"
    return f"note-{session_date:%Y-%m-%d}-{note_type}.{suffix}"


def note_to_txt(
    note: Note,
    *,
    session_date: dt.date,
    clinician_name: str,
    practice_name: str,
    signed_by_name: str = "",
    consent_line: str = "",
) -> bytes:
    """The note as paste-safe plain text: UTF-8, CRLF, headings in capitals, no markdown."""
    lines = [note_title(note).upper()]
    if practice_name.strip():
        lines.append(f"Practice: {clean_line(practice_name)}")
    lines.append(f"Session date: {session_date:%Y-%m-%d}")
    lines.append(f"Clinician: {clean_line(clinician_name)}")
    if consent_line.strip():
        lines.append(clean_line(consent_line))
    lines.append(status_line(note, signed_by_name=signed_by_name))
    for heading, body in _sections(note):
        lines.append("")
        lines.append(heading.upper())
        lines.extend(body)
    return (TXT_NEWLINE.join(lines) + TXT_NEWLINE).encode("utf-8")


def note_to_docx(
    note: Note,
    *,
    session_date: dt.date,
    clinician_name: str,
    practice_name: str,
    signed_by_name: str = "",
    consent_line: str = "",
) -> bytes:
    """The note as a Word document: Heading 1 title, Heading 2 per section, and a page header with the session
    date, the clinician, the client's consent and, until the note is signed, the AI-assisted draft warning on
    every page."""
    document = docx.Document()
    title = note_title(note)
    clinician = clean_line(clinician_name)
    practice = clean_line(practice_name)
    status = status_line(note, signed_by_name=signed_by_name)

    properties = document.core_properties
    properties.title = title
    properties.author = clinician
    properties.last_modified_by = clinician
    # The blank template says it was generated by python-docx; a clinical record should not.
    properties.comments = ""
    properties.subject = ""
    properties.keywords = ""
    now = timezone.now()
    properties.created = now
    properties.modified = now
    properties.revision = 1

    header = document.sections[0].header
    header.is_linked_to_previous = False
    header_parts = [part for part in (practice, f"Session {session_date:%Y-%m-%d}", clinician) if part]
    header.paragraphs[0].text = " · ".join(header_parts)
    consent = clean_line(consent_line)
    if consent.strip():
        header.add_paragraph(consent)
    if not note.is_signed:
        header.add_paragraph(unsigned_line(note))

    document.add_heading(title, level=1)
    status_paragraph = document.add_paragraph()
    status_paragraph.add_run(status).bold = True
    if practice:
        document.add_paragraph(f"Practice: {practice}")
    document.add_paragraph(f"Session date: {session_date:%Y-%m-%d}")
    document.add_paragraph(f"Clinician: {clinician}")
    if consent.strip():
        document.add_paragraph(consent)

    for heading, body in _sections(note):
        document.add_heading(heading, level=2)
        for line in body:
            if line:
                document.add_paragraph(line)

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class ExportedFile:
    """A rendered download of a note: its bytes, their content type and a safe file name."""

    content: bytes
    content_type: str
    filename: str


def note_export(note: Note, export_format: str) -> ExportedFile:
    """The note's download in ``export_format`` (``docx`` or ``txt``), with the details of its session.

    Raises KeyError for another format; callers check ``EXPORT_FORMATS`` first.
    """
    render, content_type = EXPORT_FORMATS[export_format]
    session = note.session
    session_date = timezone.localdate(session.occurred_at)
    content = render(
        note,
        session_date=session_date,
        clinician_name=session.clinician.display_name,
        practice_name=session.practice.name,
        signed_by_name=note.signed_by.display_name if note.signed_by else "",
        consent_line=consent_summary(session),
    )
    return ExportedFile(
        content=content,
        content_type=content_type,
        filename=export_filename(note, session_date=session_date, extension=export_format),
    )


EXPORT_FORMATS: dict[str, tuple[Callable[..., bytes], str]] = {
    "docx": (note_to_docx, DOCX_CONTENT_TYPE),
    "txt": (note_to_txt, TXT_CONTENT_TYPE),
}
