"""The practice's own pages in a real browser: building a note format from an example note, and inviting a
colleague who signs up through the emailed link."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, User
from formats.models import NoteTemplate
from sessions.models import ClinicalSession
from tests.browser.conftest import NewContext, PageProblems, log_in
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.browser

SESSION_URL = re.compile(r"/sessions/[0-9a-f-]{36}/$")
PHONE_WIDTH = 390
EXAMPLE_NOTE = """\
PRESENTING PROBLEM
Client reports low mood since losing their job in March.

## Risk
Denies thoughts of self-harm.

**Plan**
Weekly sessions; behavioural activation homework.
"""


def _screenshot(page: Page, name: str) -> None:
    """Kept only when BROWSER_SCREENSHOT_DIR asks for them (e.g. as CI artifacts), never in the checkout."""
    directory = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(directory) / name, full_page=True)


# The elements that stick out to the right of the window, if any: the page then scrolls sideways.
WIDER_THAN_THE_WINDOW = """
() => Array.from(document.querySelectorAll("body *"))
  .filter(element => element.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(element => !(element.parentElement && element.parentElement.closest(".table-scroll")))
  .map(element => element.tagName.toLowerCase() + (element.className ? "." + element.className : ""))
"""


def _overflow_on_a_phone(page: Page) -> list[str]:
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    try:
        if page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"):
            return []
        return list(page.evaluate(WIDER_THAN_THE_WINDOW)) or ["the page is wider than the window"]
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_owner_builds_a_format_from_an_example_and_creates_a_session_with_it(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    log_in(context, alice, live_server)
    page.goto("/sessions/")
    page.get_by_role("link", name="Formats").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Note formats")

    page.get_by_label("An example note").fill(EXAMPLE_NOTE)
    page.get_by_role("button", name="Propose a format").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New format")
    expect(page.get_by_text("nothing is saved yet")).to_be_visible()
    assert not NoteTemplate.objects.exists()
    headings = page.get_by_role("textbox", name="Heading")
    expect(headings).to_have_count(3)
    expect(headings.nth(0)).to_have_value("Presenting problem")
    expect(page.get_by_role("textbox", name="Instruction").nth(2)).to_have_value(
        "Like: Weekly sessions; behavioural activation homework."
    )

    # The script's niceties: move the plan above the risk, add a section in place.
    page.get_by_role("button", name="Move section 3 up").click()
    expect(headings.nth(1)).to_have_value("Plan")
    page.get_by_role("button", name="Add a section").click()
    expect(headings).to_have_count(4)
    headings.nth(3).fill("Next appointment")
    page.get_by_role("textbox", name="Instruction").nth(3).fill("Date and time of the next session.")
    page.get_by_label("Name", exact=True).fill("Progress note")
    page.get_by_label("Brief").check()
    page.get_by_role("button", name="Save format").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Note formats")
    expect(page.get_by_text("The format “Progress note” was saved")).to_be_visible()
    template = NoteTemplate.objects.get()
    assert template.key == "progress-note"
    assert template.length == "brief"
    assert [s["heading"] for s in template.sections] == ["Presenting problem", "Plan", "Risk", "Next appointment"]
    _screenshot(page, "formats.png")
    assert _overflow_on_a_phone(page) == []

    page.goto("/sessions/new/")
    page.locator("[name=client_label]").fill("PN-001")
    page.locator("input[name=occurred_at][type=datetime-local]").fill("2025-03-14T10:30")
    page.get_by_label("Note format").select_option(label="Progress note")
    page.get_by_role("button", name="Create session").click()
    expect(page).to_have_url(SESSION_URL)
    assert ClinicalSession.objects.get(client_label="PN-001").note_type == "progress-note"
    assert "/static/js/format_editor.js" in page_problems.static_loaded
    assert page_problems.all == []


def test_owner_invites_a_colleague_who_signs_up_through_the_link_and_sees_the_sessions(
    alice: User,
    live_server: LiveServer,
    context: BrowserContext,
    page: Page,
    new_context: NewContext,
    page_problems: PageProblems,
) -> None:
    ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice, client_label="AA-017")
    log_in(context, alice, live_server)
    page.goto("/sessions/")
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Members of Alder Clinic")
    page.get_by_label("Email").fill("dana@alder.test")
    page.get_by_label("Role", exact=True).select_option(label="Admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to dana@alder.test.")).to_be_visible()
    expect(page.get_by_role("cell", name="dana@alder.test", exact=True)).to_be_visible()
    _screenshot(page, "members.png")
    assert _overflow_on_a_phone(page) == []

    [message] = mail.outbox
    match = re.search(r"https?://[^/\s]+(/accounts/invitations/accept/[^/\s]+/)", str(message.body))
    assert match, message.body
    colleague = new_context().new_page()
    colleague.goto(match.group(1))
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Join Alder Clinic")
    colleague.get_by_label("Your name").fill("Dana Dogwood")
    colleague.get_by_label("Password", exact=True).fill("quiet-harbour-lantern-42")
    colleague.get_by_label("Password again").fill("quiet-harbour-lantern-42")
    colleague.get_by_role("button", name="Create account and join").click()

    expect(colleague.get_by_role("heading", level=1)).to_have_text("Sessions")
    expect(colleague.get_by_text("Welcome to Alder Clinic.")).to_be_visible()
    expect(colleague.get_by_role("cell", name="AA-017")).to_be_visible()
    dana = User.objects.get(email="dana@alder.test")
    assert Membership.objects.get(user=dana).role == Membership.Role.ADMIN

    colleague.goto(match.group(1))
    expect(colleague.get_by_role("heading", level=1)).to_have_text("This invitation cannot be used")
    assert page_problems.all == []
