"""Passkeys in a real Chromium, with its virtual authenticator (DevTools' WebAuthn domain) standing in for a laptop's
fingerprint reader: a clinician adds a passkey on the two-factor page, signs out, and signs in with the passkey alone;
then a security key used after the password. allauth's WebAuthn script runs under the Content-Security-Policy with
no inline script, and no page logs an error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import BrowserContext, CDPSession, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import AuditEvent, User
from tests.browser.conftest import PageProblems, log_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _virtual_authenticator(context: BrowserContext, page: Page, **options: Any) -> tuple[CDPSession, str]:
    """A platform authenticator that verifies its user at once (as a fingerprint would) and keeps passkeys."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
                **options,
            }
        },
    )
    return cdp, str(authenticator["authenticatorId"])


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_clinician_adds_a_passkey_and_signs_in_with_it_alone(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    assert live_server.url.startswith("http://localhost:"), "passkeys need a secure origin: localhost, not an address"
    cdp, authenticator_id = _virtual_authenticator(context, page)
    log_in(context, alice, live_server)

    page.goto("/accounts/2fa/")
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Name").fill("This laptop")
    expect(page.get_by_label("Let it sign me in alone")).to_be_checked()
    page.get_by_role("button", name="Add a passkey").click()

    # The first second factor comes with recovery codes, shown next.
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    stored = Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN)
    assert stored.wrap().name == "This laptop"
    assert stored.wrap().is_passwordless is True
    assert AuditEvent.objects.filter(actor_user_id=alice.pk, detail="passkey added").count() == 1
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert len(credentials) == 1
    assert credentials[0]["isResidentCredential"] is True
    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_role("cell", name="This laptop", exact=True)).to_be_visible()

    _log_out(page)
    page.get_by_role("button", name="Log in with a passkey").click()

    expect(page).to_have_url(re.compile(r"/sessions/$"))
    expect(page.get_by_text("Alice Alder")).to_be_visible()
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    assert page_problems.all == [], "\n".join(page_problems.all)


def test_a_security_key_is_asked_for_after_the_password(
    alice: User, live_server: LiveServer, context: BrowserContext, page: Page, page_problems: PageProblems
) -> None:
    _virtual_authenticator(context, page, transport="usb", hasResidentKey=False)
    log_in(context, alice, live_server)
    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Blue key")
    page.get_by_label("Let it sign me in alone").uncheck()
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    assert Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN).wrap().is_passwordless is False
    _log_out(page)

    page.get_by_label("Email").fill("alice@alder.test")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    page.get_by_role("button", name="Use a passkey").click()

    expect(page).to_have_url(re.compile(r"/sessions/$"))
    assert page_problems.all == [], "\n".join(page_problems.all)
