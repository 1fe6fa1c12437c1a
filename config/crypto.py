"""Encryption of the columns that hold PHI, under keys of their own: ``FIELD_ENCRYPTION_KEYS``.

Each key is a Fernet key (32 random bytes in urlsafe base64; AES-128-CBC with an HMAC-SHA256 tag, from
``cryptography``), listed newest first. A value is always written under the newest key and read under whichever
key wrote it. The keys are never derived from SECRET_KEY: either can be rotated without touching the other.

A stored value reads ``enc1:<key id>:<Fernet token>``. The key id is a fingerprint of the key (an HMAC under the
key itself, which reveals nothing of it): it names the key to decrypt with, and lets ``reencrypt_fields`` find the
values not yet under the newest key by comparing a prefix, without decrypting anything.

This module depends on settings and ``cryptography`` alone, so migrations may import it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1:"
KEY_ID_LENGTH = 16
# Used when DEBUG is on and no key is set, so the laptop demo runs without configuration. It is public: with DEBUG
# off the system checks refuse it.
DEVELOPMENT_KEY = "TmGYdyfgnlOohkbW8AHy7zdq6KTBBALN2WOsGi2LIr4="
MAKE_A_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
_KEY_ID_LABEL = b"sessionscribe field encryption key id"


class DecryptionError(Exception):
    """A stored value that none of the configured keys can read: the reason, never the value."""


@dataclass(frozen=True)
class Keyring:
    """The configured keys by key id, newest first."""

    fernets: dict[str, Fernet]
    newest_id: str

    @property
    def newest_prefix(self) -> str:
        """How every value written under the newest key begins."""
        return f"{PREFIX}{self.newest_id}:"


def _key_bytes(key: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == 32 else None


def key_id(key: str) -> str:
    raw = _key_bytes(key)
    if raw is None:
        raise ValueError("Not a Fernet key.")
    return hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


def key_problems(keys: Sequence[str]) -> list[str]:
    """What is wrong with the keys, one sentence each, never quoting a key."""
    return [
        f"Key {position} of {len(keys)} in FIELD_ENCRYPTION_KEYS is not 32 bytes in urlsafe base64."
        for position, key in enumerate(keys, start=1)
        if _key_bytes(key) is None
    ]


@functools.lru_cache(maxsize=8)
def _keyring_of(keys: tuple[str, ...]) -> Keyring:
    if not keys:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS is not set. Make a key with: {MAKE_A_KEY}")
    problems = key_problems(keys)
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    fernets = {key_id(key): Fernet(key.encode("ascii")) for key in keys}
    return Keyring(fernets=fernets, newest_id=key_id(keys[0]))


def keyring() -> Keyring:
    """The keys of the current settings (cached per list of keys, so tests may change them)."""
    return _keyring_of(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    ring = keyring()
    token = ring.fernets[ring.newest_id].encrypt(plaintext.encode("utf-8"))
    return f"{ring.newest_prefix}{token.decode('ascii')}"


def key_id_of(value: str) -> str | None:
    """The id of the key a stored value was written under; None when it is not an encrypted value."""
    if not value.startswith(PREFIX):
        return None
    kid, separator, _ = value[len(PREFIX) :].partition(":")
    return kid if separator and len(kid) == KEY_ID_LENGTH else None


def decrypt(value: str) -> str:
    """The plaintext of a stored value; DecryptionError when it cannot be read."""
    kid = key_id_of(value)
    if kid is None:
        raise DecryptionError("the stored value is not encrypted")
    fernet = keyring().fernets.get(kid)
    if fernet is None:
        raise DecryptionError(
            f"it was encrypted under the key with id {kid}, which is not in FIELD_ENCRYPTION_KEYS; "
            "add that key back (after the newest) to read it"
        )
    token = value[len(PREFIX) + KEY_ID_LENGTH + 1 :]
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            f"it does not decrypt under the key with id {kid}: the stored value was damaged or altered"
        ) from None


def is_current(value: str) -> bool:
    """Whether a stored value is already under the newest key (read from its prefix alone)."""
    return value.startswith(keyring().newest_prefix)


def rotate(value: str) -> str:
    """The stored value under the newest key; DecryptionError when it cannot be read."""
    return value if is_current(value) else encrypt(decrypt(value))


def is_readable(value: str) -> bool:
    """Whether a stored value is encrypted under one of the configured keys (and intact)."""
    try:
        decrypt(value)
    except DecryptionError:
        return False
    return True
