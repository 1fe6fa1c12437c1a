"""django-allauth's second-factor secrets, encrypted under ``FIELD_ENCRYPTION_KEYS`` like the PHI columns.

allauth keeps each authenticator in one JSON column (``mfa_authenticator.data``) and passes the secrets in it through
its MFA adapter's ``encrypt`` and ``decrypt`` (``accounts.allauth_adapter.MFAAdapter``, which calls this module): an
authenticator app's ``secret`` (TOTP), a set of recovery codes' ``seed`` and, for codes carried over from another
package, each of its ``migrated_codes``. Each is stored as a ``config.crypto`` value (``enc1:<key id>:<token>``).
The rest of the JSON is not secret and stays readable: which recovery codes are used, a passkey's name and its
public key.

A secret stored before encryption (a base32 key, a hex seed, digits: none begins with ``enc1:``) is still read as
it is; migration ``accounts.0013`` encrypts those in place, and ``reencrypt_fields`` moves every secret to the
newest key (``pending`` and ``rewrite``). This module depends on settings, ``config.crypto`` and Django alone, so
migrations may import it; the functions that touch rows take the model, a migration's historical one or the live
one (``authenticator_model``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps as installed_apps
from django.db import transaction

from config import crypto
from config.column_encryption import BATCH_SIZE, Unreadable

LABEL = "mfa.Authenticator.data"
# The members of an authenticator's data that hold a secret, by the authenticator's type. A passkey's data holds
# its public key and name only.
SECRET_MEMBERS: dict[str, tuple[str, ...]] = {
    "totp": ("secret",),
    "recovery_codes": ("seed", "migrated_codes"),
}

Change = Callable[[str], str | None]


def encrypt(text: str) -> str:
    return crypto.encrypt(text)


def decrypt(stored: str) -> str:
    """The secret of a stored value; a value stored before encryption is the secret itself. DecryptionError when
    it is encrypted under no configured key (or was altered): never the ciphertext in place of the secret."""
    if crypto.key_id_of(stored) is None:
        return stored
    return crypto.decrypt(stored)


def encrypted_if_plaintext(value: str) -> str | None:
    return crypto.encrypt(value) if crypto.key_id_of(value) is None else None


def plaintext_if_encrypted(value: str) -> str | None:
    return None if crypto.key_id_of(value) is None else crypto.decrypt(value)


def under_newest_key(value: str) -> str | None:
    """For ``reencrypt_fields``: a value under an older key re-encrypted, one still in plaintext encrypted."""
    if crypto.key_id_of(value) is None:
        return crypto.encrypt(value)
    return None if crypto.is_current(value) else crypto.rotate(value)


def rewritten(kind: str, data: Any, change: Change) -> tuple[dict[str, Any], int] | None:
    """The data with ``change`` applied to each secret in it and how many changed; None when none did."""
    if not isinstance(data, dict):
        return None
    new = dict(data)
    changed = 0

    def one(value: Any) -> Any:
        nonlocal changed
        if not isinstance(value, str):
            return value
        result = change(value)
        if result is None or result == value:
            return value
        changed += 1
        return result

    for member in SECRET_MEMBERS.get(kind, ()):
        if member not in data:
            continue
        value = data[member]
        new[member] = [one(item) for item in value] if isinstance(value, list) else one(value)
    return (new, changed) if changed else None


def secrets_of(kind: str, data: Any) -> list[str]:
    """Every secret value stored in an authenticator's data."""
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for member in SECRET_MEMBERS.get(kind, ()):
        value = data.get(member)
        values = value if isinstance(value, list) else [value]
        found.extend(item for item in values if isinstance(item, str))
    return found


def authenticator_model() -> Any:
    """allauth's Authenticator model; None when allauth's MFA app is not installed."""
    return installed_apps.get_model("mfa", "Authenticator") if installed_apps.is_installed("allauth.mfa") else None


def pending(model: Any, *, using: str = "default") -> int:
    """How many secrets are not under the newest key (plaintext ones included)."""
    prefix = crypto.keyring().newest_prefix
    rows = model.objects.using(using).filter(type__in=SECRET_MEMBERS).values_list("type", "data")
    return sum(1 for kind, data in rows.iterator() for value in secrets_of(kind, data) if not value.startswith(prefix))


def rewrite(
    model: Any,
    change: Change,
    *,
    using: str = "default",
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    unreadable: list[Unreadable] | None = None,
) -> int:
    """Apply ``change`` to every secret of every authenticator; how many secrets changed.

    Rows are visited in primary-key order, ``batch_size`` at a time, each batch one transaction that holds its rows
    locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writers queue on the database) from reading to writing,
    so a recovery code used meanwhile is never marked unused again. An interrupted run keeps the batches it
    finished; a value already changed is left alone by the next run. A value ``change`` cannot read is left as it
    is and, with ``unreadable``, recorded there; without it, DecryptionError.
    """
    changed = 0
    last: Any = None
    while True:
        in_batch = 0
        with transaction.atomic(using=using):
            rows = model.objects.using(using).select_for_update().filter(type__in=SECRET_MEMBERS).order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = list(rows.values_list("pk", "type", "data")[:batch_size])
            for pk, kind, data in batch:
                try:
                    result = rewritten(kind, data, change)
                except crypto.DecryptionError as error:
                    if unreadable is None:
                        raise
                    unreadable.append(Unreadable(LABEL, pk, str(error)))
                    continue
                if result is not None:
                    model.objects.using(using).filter(pk=pk).update(data=result[0])
                    in_batch += result[1]
        changed += in_batch
        if on_batch is not None and batch:
            on_batch(in_batch)
        if len(batch) < batch_size:
            return changed
        last = batch[-1][0]


# --- for migration accounts.0013 -----------------------------------------------------------------------------------


def encrypt_stored(apps: Any, schema_editor: Any) -> None:
    """Encrypt, under the newest key, the secrets stored in plaintext before."""
    rewrite(apps.get_model("mfa", "Authenticator"), encrypted_if_plaintext, using=schema_editor.connection.alias)


def decrypt_stored(apps: Any, schema_editor: Any) -> None:
    """Back to plaintext, for migrating backwards: every secret must be readable under the configured keys."""
    rewrite(apps.get_model("mfa", "Authenticator"), plaintext_if_encrypted, using=schema_editor.connection.alias)
