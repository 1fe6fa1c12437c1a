"""Recording a session in a real Chromium whose microphone plays the doctor-patient dialogue: consent, record,
pause, resume, stop, processing; a connection that drops while recording; a tab closed mid-recording."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from jobs.models import Job
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession, Recording, RecordingPart, Transcript
from tests.browser.conftest import CHROMIUM_ARGS, VIEWPORT, PageProblems, _find_chromium, log_in
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.media_recorder import wav_for_fake_microphone

pytestmark = pytest.mark.browser

PARTS = "**/recording/parts/*"
SESSION_URL = re.compile(r"/sessions/[0-9a-f-]{36}/")


@pytest.fixture(scope="module")
def fake_microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wav_for_fake_microphone(tmp_path_factory.mktemp("microphone") / "dialogue.wav")


@pytest.fixture(scope="module")
def silent_microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wav_for_fake_microphone(tmp_path_factory.mktemp("microphone") / "silence.wav", AUDIO / "silence_10s.ogg")


def _launch(browser: Browser, microphone: Path) -> Browser:
    """A second Chromium, launched through the suite's Playwright, whose fake microphone plays ``microphone``."""
    executable, _ = _find_chromium()
    return browser.browser_type.launch(
        executable_path=executable,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
        ],
        timeout=30_000,
    )


@contextmanager
def _context(browser: Browser, live_server: LiveServer, page_problems: PageProblems) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    context.grant_permissions(["microphone"], origin=live_server.url)
    context.on("page", page_problems.watch)
    try:
        yield context
    finally:
        context.close()
        browser.close()


@pytest.fixture
def recorder_context(
    browser: Browser, fake_microphone: Path, live_server: LiveServer, page_problems: PageProblems
) -> Iterator[BrowserContext]:
    with _context(_launch(browser, fake_microphone), live_server, page_problems) as context:
        yield context


@pytest.fixture
def silent_context(
    browser: Browser, silent_microphone: Path, live_server: LiveServer, page_problems: PageProblems
) -> Iterator[BrowserContext]:
    with _context(_launch(browser, silent_microphone), live_server, page_problems) as context:
        yield context


def _session(alice: User, **fields: str) -> ClinicalSession:
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=alice.memberships.get().practice, clinician=alice, client_label="RC-7", note_type="soap", **fields
    )
    return session


def _consented_session(alice: User) -> ClinicalSession:
    return _session(alice, consent_status="given", consent_method="verbal")


def _number(page: Page, attribute: str) -> float:
    value = page.locator("#recorder").get_attribute(f"data-{attribute}")
    return float(value) if value else 0.0


def _wait_until(page: Page, condition: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        f"() => {{ const r = document.getElementById('recorder').dataset; return {condition}; }}", timeout=timeout
    )


def _record(page: Page) -> None:
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator("#recorder-state")).to_have_text("Recording.")


def _record_then_lose_the_connection(
    context: BrowserContext, alice: User, live_server: LiveServer, session: ClinicalSession
) -> tuple[Page, float]:
    """A page recording ``session`` with some of it saved, whose part uploads then fail as if offline; returns the
    page and the seconds recorded when the connection went."""
    log_in(context, alice, live_server)
    page = context.new_page()
    page.goto(f"/sessions/{session.pk}/")
    _record(page)
    _wait_until(page, "Number(r.savedSeconds) > 0", timeout=20_000)
    page.route(PARTS, lambda route: route.abort("internetdisconnected"))
    return page, _number(page, "elapsed")


def _stop_and_process(page: Page) -> float:
    """Stops the recorder; returns the recorded seconds it showed. The page then reloads with processing started."""
    _wait_until(page, "Number(r.elapsed) > 0")
    page.get_by_role("button", name="Stop and process").click()
    elapsed = _number(page, "elapsed")
    expect(page.get_by_text("Processing started.")).to_be_visible(timeout=30_000)
    return elapsed


def _process(session: ClinicalSession) -> Job:
    job = Job.objects.get(session=session)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    return job


def test_consent_then_record_pause_resume_stop_gives_a_transcript_and_a_note(
    alice: User,
    live_server: LiveServer,
    recorder_context: BrowserContext,
    page_problems: PageProblems,
    screenshot_dir: Path,
) -> None:
    session = _session(alice)
    log_in(recorder_context, alice, live_server)
    page = recorder_context.new_page()
    page.goto(f"/sessions/{session.pk}/")

    record = page.get_by_role("button", name="Record", exact=True)
    expect(record).to_be_disabled()
    expect(page.locator("#recorder-hint")).to_contain_text("Record the client's consent above")
    page.screenshot(path=screenshot_dir / "recorder-consent-needed.png", full_page=True)

    page.get_by_label("Given").check()
    page.get_by_label("How", exact=True).select_option("verbal")
    page.get_by_role("button", name="Record consent").click()
    expect(page.locator("#consent-state")).to_contain_text("Given")
    expect(record).to_be_enabled()
    page.screenshot(path=screenshot_dir / "recorder-idle.png", full_page=True)

    _record(page)
    page.wait_for_function("() => document.getElementById('recorder-level').value > 0.2")
    expect(page.locator("#recorder-device-field")).to_be_visible()
    expect(page.locator("#recorder-saved")).to_contain_text("Saved on the server up to 0:0", timeout=20_000)
    page.screenshot(path=screenshot_dir / "recorder-recording.png", full_page=True)

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#recorder-state")).to_have_text("Paused. Nothing is being recorded.")
    expect(page.get_by_role("button", name="Resume")).to_be_focused()
    paused_at = _number(page, "elapsed")
    page.wait_for_timeout(2_000)
    assert _number(page, "elapsed") == paused_at
    # Everything recorded before the pause is handed over and saved.
    _wait_until(page, f"Number(r.savedSeconds) >= {paused_at - 0.5}", timeout=20_000)
    page.screenshot(path=screenshot_dir / "recorder-paused.png", full_page=True)

    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#recorder-state")).to_have_text("Recording resumed.")
    _wait_until(page, f"Number(r.elapsed) >= {paused_at + 6}")
    recorded = _stop_and_process(page)

    recording = Recording.objects.get(session=session)
    assert recording.codec == "opus"
    assert recording.duration_seconds == pytest.approx(recorded, abs=1.5)
    assert not RecordingPart.objects.filter(session=session).exists()
    _process(session)
    expect(page.locator("#transcript")).to_be_visible(timeout=20_000)
    page.screenshot(path=screenshot_dir / "recorder-processed.png", full_page=True)
    transcript = Transcript.objects.get(session=session)
    assert transcript.segments[-1]["end"] == pytest.approx(recording.duration_seconds, abs=0.5)
    note = Note.objects.get(session=session)
    assert any(section["text"] for section in note.sections)
    assert page_problems.all == []


def test_a_connection_dropped_while_recording_loses_nothing(
    alice: User,
    live_server: LiveServer,
    recorder_context: BrowserContext,
    page_problems: PageProblems,
    screenshot_dir: Path,
) -> None:
    session = _consented_session(alice)
    page, offline_from = _record_then_lose_the_connection(recorder_context, alice, live_server, session)
    expect(page.locator("#recorder-state")).to_contain_text("Connection lost", timeout=15_000)
    _wait_until(page, f"Number(r.elapsed) >= {offline_from + 12}")
    saved_while_offline = _number(page, "saved-seconds")
    assert saved_while_offline <= offline_from + 0.5
    expect(page.locator("#recorder-saved")).to_contain_text("waiting in this browser")
    page.screenshot(path=screenshot_dir / "recorder-offline.png", full_page=True)

    page.unroute(PARTS)
    # Everything kept in the browser reaches the server: what is saved catches up with what is recorded.
    _wait_until(page, "Number(r.savedSeconds) >= Number(r.elapsed) - 6", timeout=45_000)
    expect(page.locator("#recorder-state")).to_contain_text("Connection back")
    page.screenshot(path=screenshot_dir / "recorder-saved.png", full_page=True)
    parts = list(RecordingPart.objects.filter(session=session).values_list("n", flat=True))
    assert parts == list(range(len(parts)))

    recorded = _stop_and_process(page)
    recording = Recording.objects.get(session=session)
    assert recorded > offline_from + 12
    assert recording.duration_seconds == pytest.approx(recorded, abs=1.5)
    assert page_problems.all == []


def test_a_tab_closed_mid_recording_is_offered_again_and_finishing_it_keeps_everything_saved(
    alice: User,
    live_server: LiveServer,
    recorder_context: BrowserContext,
    page_problems: PageProblems,
    screenshot_dir: Path,
) -> None:
    session = _consented_session(alice)
    log_in(recorder_context, alice, live_server)
    page = recorder_context.new_page()
    page.goto(f"/sessions/{session.pk}/")
    _record(page)
    _wait_until(page, "Number(r.savedSeconds) >= 10", timeout=30_000)
    saved_before_close = _number(page, "saved-seconds")
    recorded_before_close = _number(page, "elapsed")

    page.close()

    reopened = recorder_context.new_page()
    reopened.goto(f"/sessions/{session.pk}/")
    offer = reopened.locator("#interrupted-recording")
    expect(offer).to_contain_text("An interrupted recording of 0:1", timeout=20_000)
    expect(reopened.get_by_role("button", name="Record", exact=True)).to_be_disabled()
    reopened.screenshot(path=screenshot_dir / "recorder-interrupted.png", full_page=True)

    reopened.get_by_role("button", name="Finish and process").click()
    expect(reopened.get_by_text("Recording finished. Processing started.")).to_be_visible()
    recording = Recording.objects.get(session=session)
    assert recording.duration_seconds >= saved_before_close - 0.5
    # At most the part being recorded when the tab closed is missing.
    assert recording.duration_seconds >= recorded_before_close - 6
    _process(session)
    transcript = Transcript.objects.get(session=session)
    assert transcript.segments[-1]["end"] >= saved_before_close - 0.5
    expect(reopened.locator("#transcript")).to_be_visible(timeout=20_000)
    assert page_problems.all == []


def test_finishing_an_interrupted_recording_waits_for_the_parts_this_browser_still_keeps(
    alice: User,
    live_server: LiveServer,
    recorder_context: BrowserContext,
    page_problems: PageProblems,
) -> None:
    session = _consented_session(alice)
    page, offline_from = _record_then_lose_the_connection(recorder_context, alice, live_server, session)
    _wait_until(page, f"Number(r.elapsed) >= {offline_from + 16}", timeout=40_000)
    expect(page.locator("#recorder-saved")).to_contain_text("waiting in this browser")
    page.close()

    # The next visit sends the parts kept in this browser; they are held on the way until released below.
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    def release() -> None:
        nonlocal released
        released = True
        while held:
            with suppress(PlaywrightError):  # its page may be gone
                held.pop(0).continue_()

    reopened = recorder_context.new_page()
    reopened.route(PARTS, hold)
    try:
        reopened.goto(f"/sessions/{session.pk}/")
        expect(reopened.locator("#recorder-state")).to_contain_text("kept in this browser")
        finish = reopened.get_by_role("button", name="Finish and process")
        finish.click()
        expect(finish).to_be_disabled()
        reopened.wait_for_timeout(500)
        assert held, "no part was on its way"
        assert not Recording.objects.filter(session=session).exists()
    finally:
        release()  # a request left held would keep the browser from closing
    expect(reopened.get_by_text("Recording finished. Processing started.")).to_be_visible(timeout=20_000)
    recording = Recording.objects.get(session=session)
    # The parts recorded while the connection was gone are in the finished recording: at most the part being
    # recorded when the tab closed (one timeslice, 5 s) is missing. Finishing without them would stop at about
    # ``offline_from``.
    assert recording.duration_seconds >= offline_from + 16 - 5.5
    assert not RecordingPart.objects.filter(session=session).exists()
    assert page_problems.all == []


def test_the_recorder_fits_a_phone_and_picks_what_the_browser_records(
    alice: User, live_server: LiveServer, recorder_context: BrowserContext, screenshot_dir: Path
) -> None:
    session = _consented_session(alice)
    log_in(recorder_context, alice, live_server)
    page = recorder_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/sessions/{session.pk}/")
    expect(page.get_by_role("button", name="Record", exact=True)).to_be_enabled()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "recorder-phone.png", full_page=True)
    _record(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "recorder-phone-recording.png", full_page=True)
    # Where WebM is missing (Safari on a phone) the recorder asks for MP4.
    chosen = page.evaluate(
        "() => import('/static/js/recorder.js').then((m) => m.pickMimeType((t) => t.startsWith('audio/mp4')))"
    )
    assert chosen == "audio/mp4;codecs=mp4a.40.2"
    assert page.evaluate("() => import('/static/js/recorder.js').then((m) => m.pickMimeType(() => false))") == ""


def test_a_silent_microphone_is_pointed_out_after_ten_seconds(
    alice: User, live_server: LiveServer, silent_context: BrowserContext, screenshot_dir: Path
) -> None:
    session = _consented_session(alice)
    log_in(silent_context, alice, live_server)
    page = silent_context.new_page()
    page.goto(f"/sessions/{session.pk}/")
    _record(page)
    warning = page.get_by_role("alert").filter(has_text="No sound from the microphone for 10 seconds")
    expect(warning).to_be_hidden()
    _wait_until(page, "Number(r.elapsed) >= 8")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=8_000)
    page.screenshot(path=screenshot_dir / "recorder-silent.png", full_page=True)
    # Paused, silence is expected: the warning goes.
    page.get_by_role("button", name="Pause").click()
    expect(warning).to_be_hidden()
