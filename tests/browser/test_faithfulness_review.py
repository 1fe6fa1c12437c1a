"""The faithfulness checker in a real browser: a drafted note with a wrong drug shows the flag with the words as
said, one click puts the transcript's words in, and signing with a flag still to review asks for it to be
acknowledged."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from formats.catalogue import get_template
from jobs.management.commands.seed_demo import with_deliberate_slips
from jobs.pipeline.draft import drafted_content
from jobs.pipeline.transcripts import segments_from_transcript
from jobs.providers.stub import StubDrafter
from jobs.services import job_start
from jobs.tasks import run_job
from notes.checking import check_draft
from notes.models import Note
from notes.services import note_apply_draft
from sessions.models import ClinicalSession, Transcript
from sessions.services import recording_replace
from tests.browser.conftest import PageProblems, log_in
from tests.browser.test_every_page import _overflow, _serious_violations
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.browser


def _screenshot(page: Page, name: str) -> None:
    directory = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(directory) / name, full_page=True)


def _session_with_slipped_draft(alice: User, settings) -> ClinicalSession:
    """A session processed by the demo pipeline, then given the draft the demo's checker example has: the stub's
    faithful note with a wrong drug and dose, and a denied fever reported."""
    settings.AI_MODE = "stub"
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=alice.memberships.get().practice, clinician=alice, client_label="AA-031", note_type="medical"
    )
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="visit.webm", uploaded_by=alice
    )
    run_job(str(job_start(session=session, requested_by=alice).pk))
    transcript = Transcript.objects.get(session=session)
    template = get_template(session.practice, session.note_type)
    assert template is not None
    slipped = with_deliberate_slips(
        StubDrafter().draft(template=template, segments=segments_from_transcript(transcript))
    )
    draft = drafted_content(template, slipped, valid_ids={int(s["id"]) for s in transcript.segments})
    note_apply_draft(
        session=session,
        draft=check_draft(draft, transcript.segments).content,
        draft_ref="slipped",
        model=slipped.model,
        prompt_version=slipped.prompt_version,
    )
    return session


def test_a_wrong_drug_is_fixed_in_one_click_and_signing_asks_to_acknowledge_the_flag_left(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems, settings
) -> None:
    session = _session_with_slipped_draft(alice, settings)
    log_in(context, alice, live_server)
    page.goto(f"/sessions/{session.pk}/")

    # The wrong drug, flagged beside its statement with the words the patient said.
    wrong = page.locator(".statement", has_text="naproxen 500 mg")
    expect(wrong).to_contain_text("Medication: The note says naproxen 500 mg; the transcript says ibuprofen 400")
    expect(wrong).to_contain_text("Said: “ibuprofen 400 milligrams”")
    expect(wrong).to_have_accessible_description(re.compile(r"Medication: .*Said: “ibuprofen 400 milligrams”"))
    fever = page.locator(".statement", has_text="Reports a fever")
    expect(fever).to_contain_text("Negation: The note says fever is present; in the transcript it is denied")
    # Before signing, the acknowledgement is asked for because flags remain.
    expect(page.get_by_label("I have reviewed the 2 flagged statements")).to_be_visible()
    _screenshot(page, "faithfulness_flags.png")
    # The flags' controls keep the page accessible and within a phone's width.
    assert _serious_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert _overflow(page) <= 1
    page.get_by_text("Dismiss this flag").first.click()
    expect(page.get_by_label("Why it needs nothing done").first).to_be_visible()
    assert _overflow(page) <= 1
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()

    # One click: the transcript's words, written as a note writes them, in place of the note's.
    wrong.get_by_role("button", name="Replace with “ibuprofen 400 mg”").click()
    expect(page.locator(".messages")).to_contain_text("Replaced with the transcript")
    fixed = page.locator(".statement", has_text="Reports taking ibuprofen 400 mg twice a day")
    expect(fixed).to_be_visible()
    expect(fixed).not_to_contain_text("Medication:")
    expect(page.locator(".statement", has_text="naproxen")).to_have_count(0)
    note = Note.objects.get(session=session)
    assert note.version == 3  # the pipeline's draft, the slipped draft, the fix
    assert note.flag_counts == {"negation": 1}

    # The denied fever is still flagged: the page will not sign until it is acknowledged.
    page.get_by_label("I have reviewed this note").check()
    acknowledge = page.get_by_label("I have reviewed the flagged statement")
    expect(acknowledge).to_be_visible()
    page.get_by_role("button", name="Sign note").click()
    assert acknowledge.evaluate("box => box.validity.valueMissing")
    note.refresh_from_db()
    assert not note.is_signed

    acknowledge.check()
    page.get_by_role("button", name="Sign note").click()
    expect(page.get_by_text("Note signed.")).to_be_visible()
    note.refresh_from_db()
    assert note.is_signed
    acknowledged = note.revisions.get(version=note.version).meta["acknowledged_flags"]
    assert [flag["kind"] for flag in acknowledged] == ["negation"]
    _screenshot(page, "faithfulness_signed.png")
    assert page_problems.all == []
