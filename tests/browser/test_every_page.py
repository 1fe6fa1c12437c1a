"""Every page a practice owner can open, at desktop and phone widths: no horizontal overflow, no script error,
and no serious or critical accessibility violation found by axe-core."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import BrowserContext, Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import ApiKey, User
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession
from sessions.services import recording_replace
from tests.browser.conftest import NewContext, PageProblems, log_in
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.passkeys import stored_passkey

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
SERIOUS = {"serious", "critical"}


@pytest.fixture
def processed_session(alice: User, settings) -> ClinicalSession:
    settings.AI_MODE = "stub"
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=alice.memberships.get().practice, clinician=alice, client_label="AA-017", note_type="soap"
    )
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="visit.webm", uploaded_by=alice
    )
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    session.refresh_from_db()
    return session


def _pages(session: ClinicalSession) -> list[str]:
    note = Note.objects.get(session=session)
    return [
        "/sessions/",
        "/sessions/new/",
        f"/sessions/{session.pk}/",
        f"/sessions/{session.pk}/edit/",
        f"/sessions/{session.pk}/delete/",
        f"/notes/{note.pk}/",
        f"/notes/{note.pk}/revisions/",
        "/formats/",
        "/formats/new/",
        "/accounts/members/",
        "/accounts/api-keys/",
        "/accounts/practice/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/reauthenticate/?next=/accounts/api-keys/",
        "/integrations/webhooks/",
        "/sessions/consent-script/",
        "/billing/",
        f"/notes/{note.pk}/revisions/1/",
        "/api/v1/docs",
        "/no-such-page/",
    ]


def _overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def _serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def _check(context: BrowserContext, paths: list[str], problems: PageProblems) -> list[str]:
    found: list[str] = []
    page = context.new_page()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(path)
            assert response is not None
            page.wait_for_load_state("networkidle")
            where = f"{path} at {width} px"
            if response.status >= 500:
                found.append(f"{where}: HTTP {response.status}")
            if (overflow := _overflow(page)) > 1:
                found.append(f"{where}: overflows by {overflow} px")
            found.extend(f"{where}: {violation}" for violation in _serious_violations(page))
    found.extend(problems.all)
    return found


def test_every_page_of_an_owner_fits_a_phone_and_passes_axe(
    new_context: NewContext, live_server: LiveServer, alice: User, processed_session, page_problems: PageProblems
) -> None:
    ApiKey.objects.create(
        practice=processed_session.practice, name="EHR sync", prefix="abcd1234", key_hash="0" * 64, created_by=alice
    )
    passkey, _ = stored_passkey(alice)
    passkey_pages = [
        "/accounts/2fa/webauthn/",
        "/accounts/2fa/webauthn/add/",
        f"/accounts/2fa/webauthn/keys/{passkey.pk}/edit/",
        f"/accounts/2fa/webauthn/keys/{passkey.pk}/remove/",
        "/accounts/2fa/webauthn/reauthenticate/",
    ]
    context = new_context()
    log_in(context, alice, live_server)
    found = _check(context, _pages(processed_session) + passkey_pages, page_problems)
    assert found == [], "\n".join(found)


def test_the_pages_before_signing_in_fit_a_phone_and_pass_axe(
    new_context: NewContext, page_problems: PageProblems
) -> None:
    paths = ["/accounts/login/", "/accounts/password/reset/", "/no-such-page/"]
    assert settings.LOGIN_URL
    found = _check(new_context(), paths, page_problems)
    assert found == [], "\n".join(found)
