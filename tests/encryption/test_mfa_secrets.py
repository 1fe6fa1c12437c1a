"""The second-factor secrets django-allauth stores (an authenticator app's key, the recovery codes' seed) are encrypted
under FIELD_ENCRYPTION_KEYS by the MFA adapter: the raw table holds none of them, signing in with a code still works,
``reencrypt_fields`` moves them to a new key (after which the old one can go), secrets stored before in plaintext
are still read and are encrypted by the migration, and one no key reads is refused, never used as it is stored."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from accounts.allauth_adapter import MFAAdapter
from config import crypto, mfa_encryption
from tests.factories import TEST_PASSWORD

LOGIN = reverse("accounts:login")
SECRET = "JBSWY3DPEHPK3PXP"
SEED = "5eed" * 20


def _code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return str(format_hotp_value(hotp_value(secret, counter)))


def _log_in(client: Client) -> Any:
    return client.post(LOGIN, {"login": "alice@alder.test", "password": TEST_PASSWORD})


def _enrol(client: Client) -> tuple[str, list[str]]:
    """An authenticator app set up through the pages, as a person does; its key and the recovery codes shown."""
    _log_in(client)
    page = client.get(reverse("mfa_activate_totp"))
    secret = str(page.context["form"].secret)
    assert client.post(reverse("mfa_activate_totp"), {"code": _code(secret)}).status_code == 302
    codes = list(client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"])
    client.post(reverse("accounts:logout"))
    cache.clear()  # the same code may be typed again within its 30 seconds, as a person could not
    return secret, codes


def _signs_in_with(code: str) -> bool:
    client = Client()
    assert _log_in(client)["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    cache.clear()
    return response.status_code == 302 and "_auth_user_id" in client.session


def _raw_table() -> str:
    """The authenticator table as the database returns it, beneath the ORM."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM mfa_authenticator")
        return repr(cursor.fetchall())


def _stored_secrets() -> list[str]:
    return [
        value
        for kind, data in Authenticator.objects.values_list("type", "data")
        for value in mfa_encryption.secrets_of(kind, data)
    ]


def _reencrypt(*args: str) -> str:
    out = io.StringIO()
    call_command("reencrypt_fields", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_raw_table_holds_no_plaintext_secret_or_seed_and_the_code_still_signs_in(alice):
    secret, codes = _enrol(Client())

    raw = _raw_table()
    seed = mfa_encryption.decrypt(Authenticator.objects.get(type="recovery_codes").data["seed"])
    assert secret not in raw
    assert seed not in raw
    assert not any(code in raw for code in codes)
    newest = crypto.keyring().newest_prefix
    assert len(_stored_secrets()) == 2
    assert all(value.startswith(newest) for value in _stored_secrets())
    # The rest of the data stays readable: which codes are used.
    assert Authenticator.objects.get(type="recovery_codes").data["used_mask"] == 0

    assert _signs_in_with(_code(secret))
    assert _signs_in_with(codes[0])
    assert not _signs_in_with(codes[0])
    assert Authenticator.objects.get(type="recovery_codes").data["used_mask"] == 1


@pytest.mark.django_db(transaction=True)
def test_after_rotation_the_old_key_is_unused_and_the_code_still_signs_in(settings, alice, key_a, key_b):
    # given an authenticator app and recovery codes set up under key A
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    secret, codes = _enrol(Client())
    assert {crypto.key_id_of(value) for value in _stored_secrets()} == {crypto.key_id(key_a)}
    # when B is put in front of A and everything re-encrypted
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    assert "mfa.Authenticator.data: 2 to re-encrypt" in _reencrypt("--dry-run")
    output = _reencrypt("--batch-size", "1")
    # then no secret is under A any more, and with B alone the codes sign in
    assert "mfa.Authenticator.data: 2 of 2 re-encrypted" in output
    assert "Re-encrypted 2 values" in output
    assert {crypto.key_id_of(value) for value in _stored_secrets()} == {crypto.key_id(key_b)}
    settings.FIELD_ENCRYPTION_KEYS = [key_b]
    assert _signs_in_with(_code(secret))
    assert _signs_in_with(codes[1])
    assert "Nothing to re-encrypt" in _reencrypt()


@pytest.mark.django_db(transaction=True)
def test_a_secret_stored_before_encryption_is_read_and_reencrypt_fields_encrypts_it(alice):
    Authenticator.objects.create(user=alice, type="totp", data={"secret": SECRET})
    Authenticator.objects.create(user=alice, type="recovery_codes", data={"seed": SEED, "used_mask": 0})

    assert _signs_in_with(_code(SECRET))
    output = _reencrypt()

    assert "Re-encrypted 2 values" in output
    assert SECRET not in _raw_table()
    assert SEED not in _raw_table()
    assert _signs_in_with(_code(SECRET))


@pytest.mark.django_db
def test_a_secret_no_configured_key_reads_is_refused_and_reported_by_row(settings, alice, key_a, key_b):
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    stored = Authenticator.objects.create(user=alice, type="totp", data={"secret": mfa_encryption.encrypt(SECRET)})
    settings.FIELD_ENCRYPTION_KEYS = [key_b]

    with pytest.raises(crypto.DecryptionError):
        MFAAdapter().decrypt(stored.data["secret"])
    with pytest.raises(CommandError) as refused:
        _reencrypt()

    assert f"mfa.Authenticator.data of row {stored.pk}" in str(refused.value)
    assert crypto.key_id(key_a) in str(refused.value)
    assert SECRET not in str(refused.value)


@pytest.mark.django_db
def test_the_adapter_encrypts_under_the_newest_key_and_reads_any_configured_one(settings, key_a, key_b):
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    old = MFAAdapter().encrypt(SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    new = MFAAdapter().encrypt(SECRET)

    assert crypto.key_id_of(old) == crypto.key_id(key_a)
    assert crypto.key_id_of(new) == crypto.key_id(key_b)
    assert MFAAdapter().decrypt(old) == MFAAdapter().decrypt(new) == SECRET
    assert MFAAdapter().decrypt(SECRET) == SECRET


# --- The migration ---------------------------------------------------------------------------------------------------

BEFORE = [("accounts", "0012_practice_retention"), ("mfa", "0003_authenticator_type_uniq")]


def _migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_secrets_stored_before_and_going_back_decrypts_them(alice):
    try:
        authenticators = _migrate(BEFORE).get_model("mfa", "Authenticator")
        passkey = {"name": "Work laptop", "credential": {"id": "abc", "response": {}}}
        authenticators.objects.create(user_id=alice.pk, type="totp", data={"secret": SECRET})
        authenticators.objects.create(
            user_id=alice.pk, type="recovery_codes", data={"seed": SEED, "used_mask": 5, "migrated_codes": ["1234"]}
        )
        authenticators.objects.create(user_id=alice.pk, type="webauthn", data=passkey)

        _migrate()

        raw = _raw_table()
        assert SECRET not in raw
        assert SEED not in raw
        assert "1234" not in raw
        totp = Authenticator.objects.get(type="totp")
        codes = Authenticator.objects.get(type="recovery_codes")
        assert mfa_encryption.decrypt(totp.data["secret"]) == SECRET
        assert mfa_encryption.decrypt(codes.data["seed"]) == SEED
        assert [mfa_encryption.decrypt(code) for code in codes.data["migrated_codes"]] == ["1234"]
        assert codes.data["used_mask"] == 5
        # A passkey holds no secret: its public key and name are left as they were.
        assert Authenticator.objects.get(type="webauthn").data == passkey
        # Run again (an interrupted migration), nothing is encrypted twice.
        stored = json.dumps(list(Authenticator.objects.order_by("pk").values_list("data", flat=True)))
        mfa_encryption.rewrite(Authenticator, mfa_encryption.encrypted_if_plaintext)
        assert json.dumps(list(Authenticator.objects.order_by("pk").values_list("data", flat=True))) == stored

        _migrate(BEFORE)

        assert Authenticator.objects.get(type="totp").data == {"secret": SECRET}
        assert Authenticator.objects.get(type="recovery_codes").data["migrated_codes"] == ["1234"]
    finally:
        _migrate()
