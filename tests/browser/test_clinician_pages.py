"""The clinician's pages in a real browser: login, sessions, uploads with progress, the note editor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from notes.models import Note
from sessions.models import ClinicalSession, Recording
from tests.browser.conftest import NewContext, PageProblems, log_in
from tests.conftest import AUDIO
from tests.factories import TEST_PASSWORD, ClinicalSessionFactory

pytestmark = pytest.mark.browser

# About two seconds for the 800 kB test recording: slow enough to see the progress bar move.
THROTTLED_UPLOAD_BYTES_PER_SECOND = 400 * 1024
SESSION_URL = re.compile(r"/sessions/[0-9a-f-]{36}/$")
NOTE_URL = re.compile(r"/notes/[0-9a-f-]{36}/$")

# Reports every change of the progress bar and of its container's visibility back to the test. Run
# through the DevTools protocol, so the page's script-src policy does not apply to it.
WATCH_UPLOAD_PROGRESS = """
() => {
  const bar = document.getElementById("upload-progress");
  const box = document.getElementById("upload-status");
  const report = () => window.reportUploadProgress(Number(bar.value), box.hidden);
  const observer = new MutationObserver(report);
  observer.observe(bar, {attributes: true});
  observer.observe(box, {attributes: true});
}
"""


def _alice_session(alice: User) -> ClinicalSession:
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=alice.memberships.get().practice, clinician=alice, client_label="AA-017", note_type="soap"
    )
    return session


def _upload(page: Page, name: str) -> None:
    page.locator("#id_file").set_input_files(AUDIO / name)
    page.locator("#upload-button").click()


def _throttle_uploads(context: BrowserContext, page: Page, bytes_per_second: int) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


def _section(page: Page, heading: str) -> Locator:
    return page.get_by_role("textbox", name=heading, exact=True)


def _open_note_editor(page: Page, session: ClinicalSession) -> None:
    page.goto(f"/sessions/{session.pk}/")
    page.get_by_role("button", name="Open note editor").click()
    expect(page).to_have_url(NOTE_URL)


def test_clinician_logs_in_creates_a_session_and_uploads_its_recording_with_progress(
    alice: User, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    page.goto("/sessions/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator("[name=login]").fill("alice@alder.test")
    page.locator("[name=password]").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions")

    page.goto("/sessions/new/")
    page.locator("[name=client_label]").fill("AA-017")
    page.locator("input[name=occurred_at][type=datetime-local]").fill("2025-03-14T10:30")
    page.locator("select[name=note_type]").select_option(label="DAP")
    page.get_by_role("button", name="Create session").click()
    expect(page).to_have_url(SESSION_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("AA-017 · 14 Mar 2025, 10:30 UTC")
    session = ClinicalSession.objects.get(client_label="AA-017")
    assert session.clinician == alice
    assert session.note_type == "dap"
    assert page.url.endswith(f"/sessions/{session.pk}/")

    progress: list[tuple[float, bool]] = []
    page.expose_function("reportUploadProgress", lambda value, hidden: progress.append((value, hidden)))
    page.evaluate(WATCH_UPLOAD_PROGRESS)
    _throttle_uploads(context, page, THROTTLED_UPLOAD_BYTES_PER_SECOND)
    _upload(page, "dialogue_short.webm")

    expect(page.locator("#recording-duration")).to_have_text("2:12", timeout=20_000)
    assert any(0 < value < 100 and not hidden for value, hidden in progress), progress
    recording = Recording.objects.get(session=session)
    assert recording.original_filename == "dialogue_short.webm"
    assert page_problems.all == []


def test_truncated_upload_shows_the_reason_in_place_and_keeps_the_previous_recording(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    session = _alice_session(alice)
    log_in(context, alice, live_server)
    page.goto(f"/sessions/{session.pk}/")
    _upload(page, "jfk.flac")
    expect(page.locator("#recording-duration")).to_have_text("0:11")
    # A full page load would wipe this marker: it shows the error arrived without leaving the page.
    page.evaluate("() => { window.stayedOnPage = true; }")

    _upload(page, "bad_truncated.webm")

    expect(page.locator("#upload-error")).to_contain_text("The recording is incomplete")
    assert page.evaluate("() => window.stayedOnPage") is True
    expect(page.locator("#recording-duration")).to_have_text("0:11")
    expect(page.locator("#recording-facts")).to_contain_text("jfk.flac")
    expect(page.locator("#upload-button")).to_be_enabled()
    expect(page.locator("#upload-status")).to_be_hidden()
    assert Recording.objects.get(session=session).original_filename == "jfk.flac"
    assert page_problems.all == []


def test_note_editor_saves_a_section_that_survives_a_reload(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    session = _alice_session(alice)
    log_in(context, alice, live_server)
    _open_note_editor(page, session)

    _section(page, "Subjective").fill("Client reports sleeping better since the last visit.")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("Saved — version 2")).to_be_visible()
    page.reload()
    expect(_section(page, "Subjective")).to_have_value("Client reports sleeping better since the last visit.")
    note = Note.objects.get(session=session)
    assert note.version == 2
    assert note.section_texts()["subjective"] == "Client reports sleeping better since the last visit."
    assert page_problems.all == []


def test_stale_save_in_a_second_window_is_refused_and_keeps_the_typed_text(
    alice: User, live_server: LiveServer, new_context: NewContext, page_problems: PageProblems
) -> None:
    session = _alice_session(alice)
    first_context, second_context = new_context(), new_context()
    log_in(first_context, alice, live_server)
    log_in(second_context, alice, live_server)
    first, second = first_context.new_page(), second_context.new_page()
    _open_note_editor(first, session)
    second.goto(first.url)

    _section(first, "Subjective").fill("Saved first, from the first window.")
    first.get_by_role("button", name="Save", exact=True).click()
    expect(first.get_by_text("Saved — version 2")).to_be_visible()

    _section(second, "Subjective").fill("Typed in the second window, not yet saved.")
    with second.expect_response(lambda response: response.request.method == "POST") as answer:
        second.get_by_role("button", name="Save", exact=True).click()

    assert answer.value.status == 409
    expect(second.locator("#save-refused")).to_contain_text("You saved a newer version (2)")
    expect(second.locator("#save-refused")).to_contain_text("Nothing was overwritten")
    expect(_section(second, "Subjective")).to_have_value("Typed in the second window, not yet saved.")
    expect(second.locator("#id_section_subjective-saved-text")).to_have_text("Saved first, from the first window.")
    note = Note.objects.get(session=session)
    assert note.version == 2
    assert note.section_texts()["subjective"] == "Saved first, from the first window."
    assert page_problems.all == []


def test_copy_note_puts_plain_text_with_headings_on_the_clipboard(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    session = _alice_session(alice)
    log_in(context, alice, live_server)
    _open_note_editor(page, session)
    _section(page, "Subjective").fill("Client reports sleeping better.\nMood 6/10.")
    _section(page, "Plan").fill("Review in two weeks.")

    page.get_by_role("button", name="Copy note").click()

    expect(page.locator("[data-copy-status]")).to_have_text("Copied the whole note")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == (
        "Subjective\nClient reports sleeping better.\nMood 6/10.\n\n"
        "Objective\n\n"
        "Assessment\n\n"
        "Plan\nReview in two weeks."
    )
    assert not re.search(r"[#*_`>]|^\s*[-+] ", copied, flags=re.MULTILINE)
    assert page_problems.all == []


def test_session_page_and_note_editor_render_with_their_styles_and_scripts(
    alice: User,
    live_server: LiveServer,
    context: BrowserContext,
    page: Page,
    page_problems: PageProblems,
    screenshot_dir: Path,
) -> None:
    session = _alice_session(alice)
    log_in(context, alice, live_server)
    page.goto(f"/sessions/{session.pk}/")
    _upload(page, "dialogue_short.webm")
    expect(page.locator("#recording-duration")).to_have_text("2:12")
    page.screenshot(path=screenshot_dir / "session_detail.png", full_page=True)

    page.get_by_role("button", name="Open note editor").click()
    expect(page).to_have_url(NOTE_URL)
    _section(page, "Subjective").fill("Client reports sleeping better since the last visit.")
    page.screenshot(path=screenshot_dir / "note_editor.png", full_page=True)

    # The stylesheet applied (the main column has its card styling) and the editor script ran (it
    # reveals the copy buttons).
    assert page.locator(".card").first.evaluate("card => getComputedStyle(card).borderStyle") != "none"
    expect(page.get_by_role("button", name="Copy note")).to_be_visible()
    assert {"/static/css/app.css", "/static/js/upload.js", "/static/js/note_editor.js"} <= set(
        page_problems.static_loaded
    )
    for name in ("session_detail.png", "note_editor.png"):
        assert (screenshot_dir / name).read_bytes().startswith(b"\x89PNG")
    assert page_problems.all == []
