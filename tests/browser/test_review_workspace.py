"""The clinician's review of a processed session in a real browser: the note beside its transcript, evidence
lit up per statement, the recording played from a segment, then edit, sign, addendum and the .docx."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import docx
import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from jobs.services import job_start
from jobs.tasks import run_job
from notes.content import Flag, FlagKind, NoteContent, Section, Statement
from notes.models import Addendum, Note
from notes.services import note_apply_draft
from sessions.models import ClinicalSession
from sessions.services import recording_replace
from sessions.transcripts import transcript_save
from tests.browser.conftest import NewContext, PageProblems, log_in
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
SEGMENT_IN_VIEW = """
id => {
  const segment = document.getElementById(id).getBoundingClientRect();
  const list = document.querySelector("[data-transcript]").getBoundingClientRect();
  return segment.top >= list.top - 1 && segment.bottom <= list.bottom + 1;
}
"""


def _screenshot(page: Page, name: str) -> None:
    """Kept only where BROWSER_SCREENSHOT_DIR says (e.g. as CI artifacts); a run without it writes nothing."""
    directory = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(directory) / name, full_page=True)


def _processed_session(alice: User, settings) -> ClinicalSession:
    settings.AI_MODE = "stub"
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=alice.memberships.get().practice, clinician=alice, client_label="AA-017", note_type="medical"
    )
    recording_replace(
        session=session,
        upload_path=AUDIO / "dialogue_short.webm",
        original_filename="dialogue_short.webm",
        uploaded_by=alice,
    )
    run_job(str(job_start(session=session, requested_by=alice).pk))
    assert Note.objects.filter(session=session).exists()
    return session


def _no_horizontal_overflow(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_a_clinician_reviews_edits_signs_and_amends_a_note_beside_its_transcript(
    alice: User,
    live_server: LiveServer,
    context: BrowserContext,
    page: Page,
    page_problems: PageProblems,
    settings,
    tmp_path: Path,
) -> None:
    session = _processed_session(alice, settings)
    log_in(context, alice, live_server)
    page.goto(f"/sessions/{session.pk}/")

    # The note and the transcript side by side.
    note_box = page.locator(".workspace-note").bounding_box()
    transcript_box = page.locator(".workspace-transcript").bounding_box()
    assert note_box is not None
    assert transcript_box is not None
    assert note_box["x"] + note_box["width"] <= transcript_box["x"]
    assert abs(note_box["y"] - transcript_box["y"]) < 5
    expect(page.locator("#session-status")).to_have_text("Draft")

    # Focusing a statement lights up the transcript segment it cites.
    statement = page.locator(".statement", has_text="Reports a headache for three days, mostly on the right side.")
    cited = statement.get_attribute("data-evidence")
    assert cited == "1"
    statement.focus()
    expect(page.locator("#segment-1")).to_have_class(re.compile(r"\bis-cited\b"))
    expect(statement).to_have_class(re.compile(r"\bis-active\b"))
    expect(page.locator("#segment-3")).not_to_have_class(re.compile(r"\bis-cited\b"))
    # A segment shows the statements citing it.
    page.locator("#segment-12").click(position={"x": 200, "y": 8})
    expect(page.locator(".statement", has_text="Blood pressure is 128 over 82")).to_have_class(
        re.compile(r"\bis-citing\b")
    )
    page.locator(".statement", has_text="Blood pressure is 128 over 82").hover()
    expect(page.locator("#segment-12")).to_have_class(re.compile(r"\bis-cited\b"))
    _screenshot(page, "review_workspace.png")

    # A segment's time plays the recording from there.
    start = float(page.locator("#segment-12").get_attribute("data-start") or "nan")
    page.locator("#segment-12 button.seek").click()
    page.wait_for_function(
        "start => Math.abs(document.getElementById('session-audio').currentTime - start) < 2", arg=start
    )

    # Edit a section as plain text: the statements are derived again, the new one marked as edited.
    page.get_by_text("Edit Assessment and plan").click()
    plan = page.get_by_role("textbox", name="Assessment and plan", exact=True)
    plan.fill(plan.input_value() + "\nDiscussed sleep hygiene.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved — version 2")).to_be_visible()
    assert re.search(rf"/sessions/{session.pk}/(#note)?$", page.url)
    edited = page.locator(".statement", has_text="Discussed sleep hygiene.")
    expect(edited).to_have_class(re.compile(r"\bis-edited\b"))
    expect(edited).to_contain_text("Edited by clinician")
    kept = page.locator(".statement", has_text="Advised to keep a headache diary")
    assert kept.get_attribute("data-evidence") == "18"
    kept.focus()
    expect(page.locator("#segment-18")).to_have_class(re.compile(r"\bis-cited\b"))
    # The transcript scrolled, within itself, to the cited segment.
    page.wait_for_function(SEGMENT_IN_VIEW, arg="segment-18")
    expect(kept).to_contain_text("I'd like you to keep a headache diary")
    _screenshot(page, "review_workspace_edited.png")

    # Sign, then add an addendum; the note itself stays as signed.
    page.get_by_label("I have reviewed this note").check()
    page.get_by_role("button", name="Sign note").click()
    expect(page.locator("#note-signature")).to_contain_text("Signed by Alice Alder on")
    expect(page.locator("#session-status")).to_have_text("Signed")
    page.get_by_role("textbox", name="Add addendum").fill("Client phoned: headache resolved.")
    page.get_by_role("button", name="Add addendum").click()
    expect(page.locator(".addendum")).to_contain_text("Addendum — Alice Alder")
    expect(page.locator(".addendum")).to_contain_text("Client phoned: headache resolved.")
    expect(page.locator("#session-status")).to_have_text("Amended")
    assert Addendum.objects.get().author == alice

    # The .docx holds the note and its addendum.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .docx").click()
    saved = tmp_path / "note.docx"
    download_info.value.save_as(saved)
    paragraphs = [paragraph.text for paragraph in docx.Document(io.BytesIO(saved.read_bytes())).paragraphs]
    assert "Headache for three days, mostly on the right side." in paragraphs
    assert "Discussed sleep hygiene." in paragraphs
    assert any(p.startswith("Signed by Alice Alder on") for p in paragraphs)
    assert any(p.startswith("Addendum — Alice Alder") and p.endswith("headache resolved.") for p in paragraphs)
    assert page_problems.all == []


def test_on_a_phone_the_workspace_and_the_list_stack_without_scrolling_sideways(
    alice: User, live_server: LiveServer, new_context: NewContext, page_problems: PageProblems, settings
) -> None:
    session = _processed_session(alice, settings)
    context = new_context()
    log_in(context, alice, live_server)
    page = context.new_page()
    page.set_viewport_size(PHONE)

    page.goto(f"/sessions/{session.pk}/")
    note_box = page.locator(".workspace-note").bounding_box()
    transcript_box = page.locator(".workspace-transcript").bounding_box()
    assert note_box is not None
    assert transcript_box is not None
    assert transcript_box["y"] >= note_box["y"] + note_box["height"]
    _no_horizontal_overflow(page)
    page.locator(".statement", has_text="Denies any fever or neck stiffness.").click()
    expect(page.locator("#segment-7")).to_have_class(re.compile(r"\bis-cited\b"))
    _screenshot(page, "review_workspace_phone.png")

    page.goto("/sessions/")
    expect(page.locator(".session-row")).to_have_count(1)
    _no_horizontal_overflow(page)
    expect(page.locator(".session-row td[data-label=Status]")).to_contain_text("Draft")
    _screenshot(page, "session_list_phone.png")
    assert page_problems.all == []


def test_flagged_statements_say_why_in_place_and_to_a_screen_reader(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=alice.memberships.get().practice, clinician=alice, client_label="AA-018", note_type="soap"
    )
    transcript_save(
        session=session,
        media_sha256="0" * 64,
        model="m",
        language="en",
        segments=[
            {"id": 0, "start": 0.0, "end": 5.0, "speaker": "client", "text": "I take fifty milligrams of sertraline."},
            {"id": 1, "start": 5.0, "end": 9.0, "speaker": "client", "text": "I sleep about four hours."},
        ],
        provider_metadata={},
    )
    dose = Flag(FlagKind.DOSE, "The transcript says 50 mg, the note 100 mg.", (0,), said="fifty milligrams")
    note_apply_draft(
        session=session,
        draft=NoteContent(
            sections=(
                Section.from_statements(
                    key="subjective",
                    heading="Subjective",
                    statements=(
                        Statement("Takes sertraline 100 mg daily.", (0,), (dose,)),
                        Statement("Sleeps about four hours a night.", (1,)),
                        Statement("History of panic disorder.", (), (Flag.uncited(),)),
                    ),
                ),
                Section(key="objective", heading="Objective", text=""),
                Section(key="assessment", heading="Assessment", text=""),
                Section(key="plan", heading="Plan", text=""),
            )
        ),
        draft_ref="job-1",
        model="m",
        prompt_version="v1",
    )
    log_in(context, alice, live_server)
    page.goto(f"/sessions/{session.pk}/")

    expect(page.locator("#session-status")).to_have_text("Needs review")
    expect(page.locator("#review-summary")).to_contain_text("2 statements to check")
    flagged = page.locator(".statement", has_text="Takes sertraline 100 mg daily.")
    expect(flagged).to_contain_text("Dose: The transcript says 50 mg, the note 100 mg.")
    expect(flagged).to_have_accessible_description(re.compile(r"Dose: .*Said: “fifty milligrams”"))
    uncited = page.locator(".statement", has_text="History of panic disorder.")
    expect(uncited).to_have_accessible_description(re.compile(r"Nothing in the transcript is cited"))
    fine = page.locator(".statement", has_text="Sleeps about four hours a night.")
    expect(fine).to_have_accessible_description(re.compile(r"Evidence: .*I sleep about four hours"))
    flagged.focus()
    expect(page.locator("#segment-0")).to_have_class(re.compile(r"\bis-cited\b"))
    _screenshot(page, "review_flags.png")
    assert page_problems.all == []
