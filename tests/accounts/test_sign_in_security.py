"""Signing in as PHI demands: lockout that a guesser cannot turn against the clinician, a second factor (TOTP and
recovery codes), a practice that requires it, sessions that end, and re-authentication before sensitive pages."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey
from accounts.reauthentication import LAST_SEEN_AT, SIGNED_IN_AT
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

GUESSER = "203.0.113.9"
CLINIC = "198.51.100.7"
LOGIN = reverse("accounts:login")


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _log_in(client: Client, email: str, password: str = TEST_PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def _current_code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return str(format_hotp_value(hotp_value(secret, counter)))


def _enrol(client: Client) -> str:
    """Sets up an authenticator app as a person does: opens the page, reads the key, types the code. (allauth
    finishes after its transaction commits: tests that enrol run in real transactions.)"""
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": _current_code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    cache.clear()  # the next sign-in in the same 30 seconds may use the same code, as a person could not
    return str(secret)


def _age_session(client: Client, *, signed_in_ago: float, last_seen_ago: float) -> None:
    session = client.session
    now = time.time()
    session[SIGNED_IN_AT] = now - signed_in_ago
    session[LAST_SEEN_AT] = now - last_seen_ago
    session.save()


# --- Lockout ------------------------------------------------------------------------------------


def test_sixty_wrong_passwords_then_the_right_one_do_not_sign_in(alice):
    guesser = Client(REMOTE_ADDR=GUESSER)
    for _ in range(60):
        _log_in(guesser, "alice@alder.test", "wrong-password")
    response = _log_in(guesser, "alice@alder.test")
    assert response.status_code == 429
    assert not _signed_in(guesser)
    assert "Too many attempts" in response.content.decode()


def test_a_guesser_at_one_address_is_locked_out_while_the_clinician_signs_in_from_another(alice):
    guesser = Client(REMOTE_ADDR=GUESSER)
    for _ in range(4):
        assert _log_in(guesser, "ALICE@alder.test", "wrong-password").status_code == 200
    # The fifth failure locks this address out of this account, and the right password changes nothing.
    locked = _log_in(guesser, "alice@alder.test", "wrong-password")
    assert locked.status_code == 429
    assert "Only this device" in locked.content.decode()
    assert _log_in(guesser, "alice@alder.test").status_code == 429
    assert not _signed_in(guesser)
    clinician = Client(REMOTE_ADDR=CLINIC)
    response = _log_in(clinician, "alice@alder.test")
    assert response.status_code == 302
    assert _signed_in(clinician)


def test_a_few_mistakes_then_the_right_password_sign_in_and_start_the_count_afresh(alice):
    clinician = Client(REMOTE_ADDR=CLINIC)
    for _ in range(4):
        _log_in(clinician, "alice@alder.test", "typo")
    assert _log_in(clinician, "alice@alder.test").status_code == 302
    clinician.post(reverse("accounts:logout"))
    for _ in range(4):
        _log_in(clinician, "alice@alder.test", "typo")
    assert _log_in(clinician, "alice@alder.test").status_code == 302


def test_the_staff_admin_login_sends_to_the_one_login_page(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- Second factor ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_clinician_sets_up_an_authenticator_app_and_signs_in_with_its_code(alice):
    client = Client()
    _log_in(client, "alice@alder.test")
    secret = _enrol(client)
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    client.post(reverse("accounts:logout"))

    response = _log_in(client, "alice@alder.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not _signed_in(client)
    refused = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert refused.status_code == 200
    assert not _signed_in(client)
    accepted = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("clinical_sessions:list")
    assert _signed_in(client)


@pytest.mark.django_db(transaction=True)
def test_a_recovery_code_signs_in_once_without_the_phone(alice):
    client = Client()
    _log_in(client, "alice@alder.test")
    _enrol(client)
    codes_page = client.get(reverse("mfa_view_recovery_codes"))
    codes = codes_page.context["unused_codes"]
    assert len(codes) == 10
    assert codes[0] in codes_page.content.decode()
    client.post(reverse("accounts:logout"))

    _log_in(client, "alice@alder.test")
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert _signed_in(client)
    client.post(reverse("accounts:logout"))

    _log_in(client, "alice@alder.test")
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 200
    assert not _signed_in(client)


def test_a_member_of_a_practice_requiring_two_factor_is_sent_to_set_it_up_first(practice, bob, bob_client):
    practice.require_mfa = True
    practice.save()
    response = bob_client.get(reverse("clinical_sessions:list"))
    assert response.status_code == 302
    # To the two-factor page, which offers an authenticator app and passkeys alike.
    assert response["Location"] == reverse("mfa_index")
    assert bob_client.get(reverse("mfa_activate_totp")).status_code == 200
    assert bob_client.get(reverse("mfa_add_webauthn")).status_code == 200
    api = bob_client.get("/api/v1/sessions")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "permission_denied"
    # Signing out is always possible.
    assert bob_client.post(reverse("accounts:logout")).status_code == 302


def test_a_member_with_a_second_factor_works_in_a_practice_that_requires_it(practice, bob, bob_client):
    practice.require_mfa = True
    practice.save()
    TOTP.activate(bob, "JBSWY3DPEHPK3PXP")
    assert bob_client.get(reverse("clinical_sessions:list")).status_code == 200


def test_an_owner_can_require_two_factor_only_once_she_has_it_herself(practice, alice, alice_client):
    url = reverse("accounts:practice_settings")
    data = {"name": "Alder Clinic", "time_zone": "", "require_mfa": "on"}
    refused = alice_client.post(url, data)
    assert refused.status_code == 400
    assert "for yourself first" in refused.content.decode()
    practice.refresh_from_db()
    assert practice.require_mfa is False

    TOTP.activate(alice, "JBSWY3DPEHPK3PXP")
    assert alice_client.post(url, data).status_code == 302
    practice.refresh_from_db()
    assert practice.require_mfa is True


@pytest.mark.django_db(transaction=True)
def test_setting_up_a_second_factor_ends_the_accounts_other_sessions(alice):
    laptop, phone = Client(), Client()
    _log_in(laptop, "alice@alder.test")
    _log_in(phone, "alice@alder.test")
    _enrol(laptop)
    assert laptop.get(reverse("clinical_sessions:list")).status_code == 200
    response = phone.get(reverse("clinical_sessions:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_changing_the_password_ends_the_accounts_other_sessions(alice):
    laptop, phone = Client(), Client()
    _log_in(laptop, "alice@alder.test")
    _log_in(phone, "alice@alder.test")
    new = "a-new-long-pass-9"
    laptop.post(
        reverse("accounts:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert laptop.get(reverse("clinical_sessions:list")).status_code == 200
    assert phone.get(reverse("clinical_sessions:list"))["Location"].startswith(LOGIN)


# --- Session lifetime ---------------------------------------------------------------------------


def test_a_session_idle_longer_than_the_timeout_is_signed_out(alice_client, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    _age_session(alice_client, signed_in_ago=40 * 60, last_seen_ago=31 * 60)
    response = alice_client.get(reverse("clinical_sessions:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert not _signed_in(alice_client)
    page = alice_client.get(response["Location"])
    assert "after 30 minutes without activity" in page.content.decode()


def test_a_session_in_use_stays_signed_in_within_the_timeout(alice_client):
    _age_session(alice_client, signed_in_ago=3 * 3600, last_seen_ago=29 * 60)
    assert alice_client.get(reverse("clinical_sessions:list")).status_code == 200
    # The request counted as activity: the idle timer started again.
    assert time.time() - alice_client.session[LAST_SEEN_AT] < 5


def test_a_session_ends_at_its_absolute_lifetime_however_active(alice_client, settings):
    settings.SESSION_ABSOLUTE_HOURS = 12
    _age_session(alice_client, signed_in_ago=12 * 3600 + 60, last_seen_ago=10)
    response = alice_client.get(reverse("clinical_sessions:list"))
    assert response["Location"].startswith(LOGIN)
    assert not _signed_in(alice_client)


def test_an_idle_browser_session_gets_a_401_from_the_api(alice_client):
    _age_session(alice_client, signed_in_ago=3600, last_seen_ago=3600)
    response = alice_client.get("/api/v1/sessions")
    assert response.status_code in {401, 403}
    assert response.json()["error"]["code"] in {"authentication_required", "permission_denied"}


# --- Re-authentication --------------------------------------------------------------------------


def test_the_api_keys_page_asks_for_the_password_again_after_ten_minutes(alice_client):
    url = reverse("accounts:api_keys")
    assert alice_client.get(url).status_code == 200
    _age_session(alice_client, signed_in_ago=11 * 60, last_seen_ago=10)
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_reauthenticate')}?next=%2Faccounts%2Fapi-keys%2F"

    refused = alice_client.post(response["Location"], {"password": "wrong"})
    assert refused.status_code == 200
    confirmed = alice_client.post(response["Location"], {"password": TEST_PASSWORD})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == url
    assert alice_client.get(url).status_code == 200


def test_a_key_asked_for_after_ten_minutes_is_created_once_the_password_is_confirmed(alice_client, practice):
    url = reverse("accounts:api_keys")
    _age_session(alice_client, signed_in_ago=11 * 60, last_seen_ago=10)
    response = alice_client.post(url, {"name": "EHR sync"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiKey.objects.filter(practice=practice).exists()

    replayed = alice_client.post(response["Location"], {"password": TEST_PASSWORD})
    assert replayed.status_code == 200
    assert re.search(r"ssk_[0-9a-f]{8}_", replayed.content.decode())
    assert ApiKey.objects.filter(practice=practice, name="EHR sync").count() == 1


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "accounts:members", {}),
        ("get", "accounts:practice_settings", {}),
        ("post", "accounts:member_remove", {"pk": 1}),
        ("post", "accounts:api_key_revoke", {"pk": "00000000-0000-0000-0000-000000000000"}),
    ],
)
def test_sensitive_pages_need_a_recent_sign_in(alice_client, method, name, kwargs):
    _age_session(alice_client, signed_in_ago=11 * 60, last_seen_ago=10)
    response = getattr(alice_client, method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
