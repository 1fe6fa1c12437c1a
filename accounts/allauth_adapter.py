"""How django-allauth behaves here: it signs people in (with their second factor) and re-authenticates them;
accounts come from invitations and the create_practice command, so nobody signs up. Its second-factor secrets are
stored encrypted (``MFAAdapter``)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from accounts.reauthentication import REAUTHENTICATION_MINUTES, authenticated_within
from config import mfa_encryption

_REAUTHENTICATION_WORDS = {
    "mfa_reauthenticate": "Use your authenticator app or a recovery code",
    "mfa_reauthenticate:webauthn": "Use a passkey",
}


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no types
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth's pages (setting up or removing a second factor, recovery codes) count a recent sign-in as
        recent proof, as ``recent_login_required`` does, rather than only a re-authentication."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = context.request
        return request is None or not authenticated_within(request, minutes=REAUTHENTICATION_MINUTES)

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """The ways to confirm it is you, worded as the pages word the second factors."""
        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        return [
            {**method, "description": _REAUTHENTICATION_WORDS.get(method["id"], method["description"])}
            for method in methods
        ]


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]  # allauth ships no types
    """allauth passes every secret it stores (an authenticator app's key, the seed of the recovery codes) through
    ``encrypt`` before writing it and ``decrypt`` after reading it: they are kept under FIELD_ENCRYPTION_KEYS like the
    PHI columns, rotated by ``reencrypt_fields`` (config/mfa_encryption.py)."""

    def encrypt(self, text: str) -> str:
        return mfa_encryption.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_encryption.decrypt(encrypted_text)

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        """The site a passkey belongs to: this host (the WebAuthn relying party), shown by the device as
        "Sessionscribe" rather than as its host name."""
        entity: dict[str, str] = super().get_public_key_credential_rp_entity()
        return {**entity, "name": self.get_totp_issuer()}

    def generate_authenticator_name(self, user: Any, type: Any) -> str:
        """The name a new passkey is offered, to be changed to where it lives."""
        count = Authenticator.objects.filter(user_id=user.pk, type=type).count()
        return f"Passkey {count + 1}"
