"""A passkey in software, for the Django test client: it answers the creation and request options a page carries as a
browser's authenticator would (attestation "none", ES256), so the server's checks run for real without a browser."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticationExtensionsClientOutputs,
    AuthenticationResponse,
    AuthenticatorAssertionResponse,
    AuthenticatorAttachment,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)

# The Django test client's host for passkey tests: fido2 accepts http://localhost as a secure origin, as browsers do.
HOST = "localhost"
ORIGIN = f"http://{HOST}"
_FLAGS = AuthenticatorData.FLAG


def options_in(page: str, button_id: str) -> dict[str, Any]:
    """The options a page hands its script in the data-passkey-options attribute of the button ``button_id``."""
    tag = re.search(rf"<button[^>]*\bid=\"{re.escape(button_id)}\"[^>]*>", page)
    assert tag, f"no button {button_id} on the page"
    value = re.search(r'data-passkey-options="([^"]*)"', tag.group())
    assert value, f"the button {button_id} carries no options"
    options: dict[str, Any] = json.loads(html.unescape(value.group(1)))
    return options


class SoftPasskey:
    """One credential on one authenticator, which verifies its user (as a fingerprint or a PIN would)."""

    def __init__(self, *, rp_id: str = HOST, origin: str = ORIGIN, resident: bool = True) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.resident = resident
        self.credential_id = os.urandom(32)
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.counter = 0
        self.user_handle: bytes | None = None

    def _rp_id_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def create(self, creation_options: dict[str, Any]) -> dict[str, Any]:
        """The browser's answer to ``navigator.credentials.create`` (as webauthn-json serialises it)."""
        public_key = creation_options["publicKey"]
        self.user_handle = websafe_decode(public_key["user"]["id"])
        client_data = CollectedClientData.create(
            type="webauthn.create", challenge=public_key["challenge"], origin=self.origin
        )
        credential = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.private_key.public_key())
        )
        auth_data = AuthenticatorData.create(
            self._rp_id_hash(), _FLAGS.UP | _FLAGS.UV | _FLAGS.AT, self.counter, credential
        )
        response = RegistrationResponse(
            raw_id=self.credential_id,
            response=AuthenticatorAttestationResponse(
                client_data=client_data, attestation_object=AttestationObject.create("none", auth_data, {})
            ),
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
            client_extension_results=AuthenticationExtensionsClientOutputs({"credProps": {"rk": self.resident}}),
        )
        answer: dict[str, Any] = json.loads(json.dumps(dict(response)))
        return answer

    def get(self, request_options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """The browser's answer to ``navigator.credentials.get``: a signed assertion of the challenge."""
        public_key = request_options["publicKey"]
        allowed = [websafe_decode(item["id"]) for item in public_key.get("allowCredentials") or []]
        assert not allowed or self.credential_id in allowed, "the server does not ask for this passkey"
        self.counter += 1
        client_data = CollectedClientData.create(
            type="webauthn.get", challenge=public_key["challenge"], origin=origin or self.origin
        )
        auth_data = AuthenticatorData.create(self._rp_id_hash(), _FLAGS.UP | _FLAGS.UV, self.counter)
        signature = self.private_key.sign(auth_data + client_data.hash, ec.ECDSA(hashes.SHA256()))
        response = AuthenticationResponse(
            raw_id=self.credential_id,
            response=AuthenticatorAssertionResponse(
                client_data=client_data,
                authenticator_data=auth_data,
                signature=signature,
                user_handle=self.user_handle,
            ),
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
        )
        answer: dict[str, Any] = json.loads(json.dumps(dict(response)))
        return answer

    @property
    def id(self) -> str:
        return websafe_encode(self.credential_id)


def stored_passkey(user: Any, name: str = "Work laptop", *, host: str = HOST) -> tuple[Any, SoftPasskey]:
    """A passkey already registered for ``user``, as allauth stores one, and the software key that holds it."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.webauthn.internal.auth import WebAuthn

    passkey = SoftPasskey(rp_id=host, origin=f"http://{host}")
    options = {"publicKey": {"user": {"id": websafe_encode(str(user.pk).encode())}, "challenge": "c2lnbi1tZQ"}}
    authenticator: Authenticator = WebAuthn.add(user, name, passkey.create(options)).instance
    return authenticator, passkey
