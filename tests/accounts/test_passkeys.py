"""Passkeys (WebAuthn, through django-allauth and fido2), driven with the Django test client and a passkey in software
(tests/support/passkeys.py): adding one after a recent sign-in, signing in with it alone or as the second step after
the password, confirming it is you with it, renaming and removing it (each audited, each ending the account's other
sessions), and a practice that requires two-factor authentication accepting it."""

from __future__ import annotations

import json
import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.reauthentication import LAST_SEEN_AT, SIGNED_IN_AT
from tests.factories import TEST_PASSWORD
from tests.support.passkeys import HOST, SoftPasskey, options_in

# allauth sends its "added" signals once the transaction commits, as the audit trail and the session ends need.
pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = reverse("accounts:login")
ADD = reverse("mfa_add_webauthn")


def _client() -> Client:
    return Client(HTTP_HOST=HOST)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _log_in(client: Client, email: str):
    return client.post(LOGIN, {"login": email, "password": TEST_PASSWORD})


def _age(client: Client, seconds: float) -> None:
    """The sign-in, and every proof of identity since (allauth's records), ``seconds`` ago."""
    session = client.session
    session[SIGNED_IN_AT] = time.time() - seconds
    session[LAST_SEEN_AT] = time.time() - 10
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {**record, "at": time.time() - seconds} for record in session.get(AUTHENTICATION_METHODS_SESSION_KEY, [])
    ]
    session.save()


def _add(client: Client, passkey: SoftPasskey, *, name: str = "Work laptop", alone: bool = True):
    page = client.get(ADD)
    assert page.status_code == 200, page.status_code
    credential = passkey.create(options_in(page.content.decode(), "mfa_webauthn_add")["creation_options"])
    data = {"name": name, "credential": json.dumps(credential)}
    if alone:
        data["passwordless"] = "on"
    return client.post(ADD, data)


def _events(user: User, detail: str) -> int:
    return AuditEvent.objects.filter(actor_user_id=user.pk, action=AuditEvent.Action.MFA_CHANGE, detail=detail).count()


def _passkey_log_in(client: Client, passkey: SoftPasskey, **kwargs):
    """What the login page's script does: fetch the request options, let the passkey sign them, post the answer."""
    options = client.get(reverse("mfa_login_webauthn"), HTTP_ACCEPT="application/json")
    assert options.status_code == 200
    credential = passkey.get(options.json()["request_options"], **kwargs)
    return client.post(reverse("mfa_login_webauthn"), {"credential": json.dumps(credential)})


def test_a_clinician_adds_a_passkey_then_signs_in_with_it_alone(alice, practice):
    client, passkey = _client(), SoftPasskey()
    _log_in(client, "alice@alder.test")

    added = _add(client, passkey)

    # The first second factor brings recovery codes, shown next.
    assert added.status_code == 302
    assert added["Location"] == reverse("mfa_view_recovery_codes")
    stored = Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN)
    assert stored.wrap().name == "Work laptop"
    assert stored.wrap().is_passwordless is True
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert _events(alice, "passkey added") == 1
    assert _events(alice, "recovery_codes added") == 1
    listed = client.get(reverse("mfa_list_webauthn")).content.decode()
    assert "Work laptop" in listed
    assert "alone, without the password" in listed

    client.post(reverse("accounts:logout"))
    login_page = client.get(LOGIN).content.decode()
    assert 'data-passkey="login"' in login_page
    response = _passkey_log_in(client, passkey)

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical_sessions:list")
    assert _signed_in(client)
    assert AuditEvent.objects.filter(actor_user_id=alice.pk, action=AuditEvent.Action.LOGIN).count() == 2
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_a_passkey_signed_for_another_site_does_not_sign_in(alice):
    client, passkey = _client(), SoftPasskey()
    _log_in(client, "alice@alder.test")
    _add(client, passkey)
    client.post(reverse("accounts:logout"))

    response = _passkey_log_in(client, passkey, origin="https://scribe.example.org.evil.test")

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not _signed_in(client)
    # The same passkey, answering for this site, signs in: the origin alone was refused.
    assert _passkey_log_in(client, passkey)["Location"] == reverse("clinical_sessions:list")


def test_a_security_key_is_the_second_step_after_the_password(alice):
    client, key = _client(), SoftPasskey(resident=False)
    _log_in(client, "alice@alder.test")
    assert _add(client, key, name="Blue key", alone=False).status_code == 302
    assert Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN).wrap().is_passwordless is False
    client.post(reverse("accounts:logout"))

    response = _log_in(client, "alice@alder.test")
    assert response["Location"] == reverse("mfa_authenticate")
    assert not _signed_in(client)
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert "Use a passkey" in page
    credential = key.get(options_in(page, "mfa_webauthn_authenticate")["request_options"])
    accepted = client.post(reverse("mfa_authenticate"), {"credential": json.dumps(credential)})

    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("clinical_sessions:list")
    assert _signed_in(client)


def test_the_second_step_of_someone_with_only_an_app_offers_no_passkey(alice):
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(alice, "JBSWY3DPEHPK3PXP")
    client = _client()
    assert _log_in(client, "alice@alder.test")["Location"] == reverse("mfa_authenticate")
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert "data-passkey" not in page
    assert "webauthn.js" not in page


def test_adding_a_passkey_asks_to_confirm_it_is_you_after_ten_minutes(alice):
    client, passkey = _client(), SoftPasskey()
    _log_in(client, "alice@alder.test")
    page = client.get(ADD)
    _age(client, 11 * 60)

    response = client.post(
        ADD, {"name": "Late", "credential": json.dumps(passkey.create(page.context["js_data"]["creation_options"]))}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not Authenticator.objects.filter(user=alice, type=Authenticator.Type.WEBAUTHN).exists()
    assert client.get(ADD)["Location"].startswith(reverse("account_reauthenticate"))


def test_confirming_it_is_you_with_a_passkey(alice):
    client, passkey = _client(), SoftPasskey()
    _log_in(client, "alice@alder.test")
    _add(client, passkey)
    _age(client, 11 * 60)

    asked = client.get(ADD)
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    password_page = client.get(asked["Location"]).content.decode()
    # The password page offers the passkey instead.
    assert reverse("mfa_reauthenticate_webauthn") in password_page
    assert "Use a passkey" in password_page
    assert "Use your authenticator app or a recovery code" in password_page
    reauthenticate = f"{reverse('mfa_reauthenticate_webauthn')}?next={ADD}"
    page = client.get(reauthenticate)
    assert page.status_code == 200
    credential = passkey.get(options_in(page.content.decode(), "mfa_webauthn_reauthenticate")["request_options"])
    confirmed = client.post(reauthenticate, {"credential": json.dumps(credential)})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == ADD
    assert client.get(ADD).status_code == 200


def test_renaming_and_removing_a_passkey_are_audited_and_end_the_other_sessions(alice):
    laptop, phone, passkey = _client(), _client(), SoftPasskey()
    _log_in(laptop, "alice@alder.test")
    _add(laptop, passkey)
    _log_in(phone, "alice@alder.test")
    stored = Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN)
    edit = reverse("mfa_edit_webauthn", kwargs={"pk": stored.pk})

    refused = laptop.post(edit, {"name": "Bad\u202ename"})
    assert refused.status_code == 200
    assert _events(alice, "passkey renamed") == 0
    renamed = laptop.post(edit, {"name": "Old laptop"})

    assert renamed.status_code == 302
    stored.refresh_from_db()
    assert stored.wrap().name == "Old laptop"
    assert _events(alice, "passkey renamed") == 1
    assert laptop.get(reverse("clinical_sessions:list")).status_code == 200
    assert phone.get(reverse("clinical_sessions:list"))["Location"].startswith(LOGIN)

    _log_in(phone, "alice@alder.test")
    confirm = laptop.get(reverse("mfa_remove_webauthn", kwargs={"pk": stored.pk}))
    assert "Old laptop" in confirm.content.decode()
    removed = laptop.post(reverse("mfa_remove_webauthn", kwargs={"pk": stored.pk}))

    assert removed.status_code == 302
    assert not Authenticator.objects.filter(user=alice).exists()
    assert _events(alice, "passkey removed") == 1
    # Its recovery codes went with the last second factor.
    assert _events(alice, "recovery_codes removed") == 1
    assert laptop.get(reverse("clinical_sessions:list")).status_code == 200
    assert phone.get(reverse("clinical_sessions:list"))["Location"].startswith(LOGIN)


def test_another_members_passkey_cannot_be_renamed_or_removed(alice, bob):
    alices, passkey = _client(), SoftPasskey()
    _log_in(alices, "alice@alder.test")
    _add(alices, passkey)
    stored = Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN)
    bobs = _client()
    _log_in(bobs, "bob@alder.test")

    assert bobs.post(reverse("mfa_edit_webauthn", kwargs={"pk": stored.pk}), {"name": "Mine"}).status_code == 404
    assert bobs.post(reverse("mfa_remove_webauthn", kwargs={"pk": stored.pk})).status_code == 404
    stored.refresh_from_db()
    assert stored.wrap().name == "Work laptop"


def test_a_passkey_satisfies_a_practice_that_requires_two_factor(practice, bob):
    practice.require_mfa = True
    practice.save()
    client, passkey = _client(), SoftPasskey()
    _log_in(client, "bob@alder.test")
    sent = client.get(reverse("clinical_sessions:list"))
    assert sent["Location"] == reverse("mfa_index")
    assert "add a passkey" in client.get(sent["Location"]).content.decode()
    assert client.get("/api/v1/sessions").status_code == 403

    assert _add(client, passkey).status_code == 302

    assert client.get(reverse("clinical_sessions:list")).status_code == 200
    assert client.get("/api/v1/sessions").status_code == 200
    # And the next sign-in with it alone goes straight in.
    client.post(reverse("accounts:logout"))
    assert _passkey_log_in(client, passkey)["Location"] == reverse("clinical_sessions:list")
    assert client.get(reverse("clinical_sessions:list")).status_code == 200


def test_an_owner_with_only_a_passkey_may_require_two_factor(practice, alice):
    client, passkey = _client(), SoftPasskey()
    _log_in(client, "alice@alder.test")
    _add(client, passkey)
    data = {"name": "Alder Clinic", "time_zone": "", "require_mfa": "on"}
    assert client.post(reverse("accounts:practice_settings"), data).status_code == 302
    practice.refresh_from_db()
    assert practice.require_mfa is True
