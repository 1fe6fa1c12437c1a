"""django-allauth's passkey forms as this product words and checks them (settings ``MFA_FORMS``): a passkey's name
is one short line, a new passkey signs in alone unless unticked, and renaming one is a second-factor change like
adding or removing it (audited, the account's other sessions ended)."""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.forms import AddWebAuthnForm, EditWebAuthnForm
from django import forms
from django.core.validators import MaxLengthValidator

from accounts.security_events import authenticator_renamed
from config.validators import single_line_text

NAME_MAX_LENGTH = 100


def _name_field(field: forms.Field) -> None:
    field.label = "Name"
    field.help_text = "Where it lives, to tell your passkeys apart: “Work laptop”, “Phone”, “Blue security key”."
    field.validators += [single_line_text, MaxLengthValidator(NAME_MAX_LENGTH)]
    field.widget.attrs.update({"maxlength": str(NAME_MAX_LENGTH), "autocomplete": "off"})


class AddPasskeyForm(AddWebAuthnForm):  # type: ignore[misc]  # allauth ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_field(self.fields["name"])
        passwordless = self.fields.get("passwordless")
        if passwordless is not None:
            passwordless.initial = True
            passwordless.label = "Let it sign me in alone"
            passwordless.help_text = (
                "It then asks for your fingerprint, face or PIN, in place of your password and a code. Untick it for "
                "a security key without a PIN: it will be asked for after your password."
            )


class EditPasskeyForm(EditWebAuthnForm):  # type: ignore[misc]  # allauth ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_field(self.fields["name"])

    def save(self) -> Authenticator:
        authenticator: Authenticator = super().save()
        request = context.request
        authenticator_renamed.send(
            sender=Authenticator, request=request, user=request.user, authenticator=authenticator
        )
        return authenticator
