"""The practice pages' markup: every label and aria-describedby names an element that exists, ids are unique,
and no script is written into the page (the Content-Security-Policy would refuse it)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse

from accounts.services import invitation_create
from formats.services import format_create
from tests.factories import TEST_PASSWORD
from tests.support.passkeys import stored_passkey

pytestmark = pytest.mark.django_db


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.references: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if tag == "label" and values.get("for"):
            self.references.append(str(values["for"]))
        for name in ("aria-describedby", "aria-labelledby"):
            self.references.extend(str(values.get(name) or "").split())
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if any(name.startswith("on") for name in values):
            self.inline_scripts += 1


def _check(html: str) -> None:
    # What a <template> holds is inert until the script copies it with fresh ids.
    html = re.sub(r"<template\b.*?</template>", "", html, flags=re.DOTALL)
    parser = _Ids()
    parser.feed(html)
    duplicates = {i for i in parser.ids if parser.ids.count(i) > 1}
    assert not duplicates, duplicates
    missing = set(parser.references) - set(parser.ids)
    assert not missing, missing
    assert parser.inline_scripts == 0


def _pages(practice) -> list[tuple[str, str, dict[str, str] | None]]:
    template = format_create(
        practice=practice, key="intake", name="Intake", sections=[{"heading": "Plan", "instruction": "Next."}]
    )
    return [
        ("get", reverse("formats:list"), None),
        ("get", reverse("formats:create") + "?from=medical", None),
        ("get", reverse("formats:edit", kwargs={"pk": template.pk}), None),
        ("post", reverse("formats:create"), {"name": "", "sections-TOTAL_FORMS": "1", "sections-INITIAL_FORMS": "0"}),
        ("post", reverse("formats:from_example"), {"example": "PLAN\nReview."}),
        ("post", reverse("formats:from_example"), {"example": "no headings"}),
        ("get", reverse("accounts:members"), None),
        ("post", reverse("accounts:members"), {"email": "nope", "role": "clinician"}),
        ("get", reverse("clinical_sessions:create"), None),
        ("get", reverse("accounts:audit"), None),
        ("get", reverse("accounts:audit"), {"actor": "not-a-uuid"}),
        ("get", reverse("accounts:retention"), None),
        ("post", reverse("accounts:retention"), {"audio": "keep", "audio_keep_days": "", "artifact_ttl_days": "0"}),
    ]


def test_the_formats_and_members_pages_reference_only_ids_that_exist(alice_client, practice):
    for method, url, data in _pages(practice):
        response = getattr(alice_client, method)(url, data or {})
        assert response.status_code in {200, 400}, (url, response.status_code)
        _check(response.content.decode())


def test_the_invitation_page_references_only_ids_that_exist(client, practice, alice):
    invitation_create(practice=practice, email="dana@alder.test", role="clinician", invited_by=alice, site_url="")
    path = re.search(r"(/accounts/invitations/accept/[^/\s]+/)", str(mail.outbox[0].body))
    assert path
    _check(client.get(path.group(1)).content.decode())
    response = client.post(path.group(1), {"full_name": "", "password1": "x", "password2": "y"})
    assert response.status_code == 400
    _check(response.content.decode())


def test_the_two_factor_and_passkey_pages_reference_only_ids_that_exist_and_hold_no_script(alice, alice_client):
    """The passkey pages hand their options to static/js/passkeys.js in data- attributes: no inline script, not
    even allauth's JSON blocks."""
    authenticator, _ = stored_passkey(alice)
    pages = [
        ("get", reverse("mfa_index"), None),
        ("get", reverse("mfa_add_webauthn"), None),
        ("post", reverse("mfa_add_webauthn"), {"name": "x", "credential": "{}"}),
        ("get", reverse("mfa_list_webauthn"), None),
        ("get", reverse("mfa_edit_webauthn", kwargs={"pk": authenticator.pk}), None),
        ("post", reverse("mfa_edit_webauthn", kwargs={"pk": authenticator.pk}), {"name": ""}),
        ("get", reverse("mfa_remove_webauthn", kwargs={"pk": authenticator.pk}), None),
        ("get", reverse("mfa_reauthenticate_webauthn"), None),
        ("get", reverse("mfa_activate_totp"), None),
        ("get", reverse("account_reauthenticate"), None),
    ]
    for method, url, data in pages:
        response = getattr(alice_client, method)(url, data or {})
        assert response.status_code in {200, 400}, (url, response.status_code)
        html = response.content.decode()
        _check(html)
        if "data-passkey=" in html:
            assert "/static/js/passkeys.js" in html, url


def test_the_login_and_second_step_pages_reference_only_ids_that_exist_and_hold_no_script(client, alice):
    stored_passkey(alice)
    login = client.get(reverse("accounts:login")).content.decode()
    _check(login)
    assert 'data-passkey="login"' in login
    client.post(reverse("accounts:login"), {"login": "alice@alder.test", "password": TEST_PASSWORD})
    second_step = client.get(reverse("mfa_authenticate"))
    assert second_step.status_code == 200
    _check(second_step.content.decode())
    assert 'data-passkey="authenticate"' in second_step.content.decode()
    refused = client.post(reverse("mfa_authenticate"), {"credential": "{}"})
    _check(refused.content.decode())
    wrong_code = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    _check(wrong_code.content.decode())
