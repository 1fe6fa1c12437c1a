from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from config.validators import multi_line_text, single_line_text
from sessions.models import ClinicalSession
from sessions.states import SessionState


class SessionForm(forms.Form):
    client_label = forms.CharField(
        max_length=80,
        label="Client label",
        help_text="A pseudonymous label such as initials or a chart number. Avoid full names.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        validators=[single_line_text],
    )
    occurred_at = forms.DateTimeField(
        label="Session date and time",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note_type = forms.ChoiceField(label="Note format")
    consent_method = forms.ChoiceField(
        label="Client consent to recording",
        required=False,
        choices=[("", "Not recorded yet"), *ClinicalSession.ConsentMethod.choices],
        help_text="How the client agreed to the recording, if they already have. You can record it later on the "
        "session's page, where your practice's consent script is shown.",
    )

    def __init__(
        self, *args: Any, note_type_choices: list[tuple[str, str]], with_consent: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("note_type", note_type_choices)
        if not with_consent:
            # Once the session exists, consent is recorded on its page, next to the script the client is shown.
            del self.fields["consent_method"]

    def _set_choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean_client_label(self) -> str:
        label = str(self.cleaned_data["client_label"]).strip()
        if not label:
            raise forms.ValidationError("Enter a client label.")
        return label

    def clean_occurred_at(self) -> Any:
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + dt.timedelta(days=1):
            raise forms.ValidationError("The session date is in the future.")
        return occurred_at


class SessionFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=80, label="Search client label")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *SessionState.choices])
    note_type = forms.ChoiceField(required=False, label="Note format")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, note_type_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["note_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any format"), *note_type_choices]


class ConsentForm(forms.Form):
    """The client's answer, recorded on the session page under the practice's consent script."""

    status = forms.ChoiceField(
        label="Consent to recording",
        choices=ClinicalSession.ConsentStatus.choices,
        widget=forms.RadioSelect,
    )
    method = forms.ChoiceField(
        label="How",
        required=False,
        choices=[("", "—"), *ClinicalSession.ConsentMethod.choices],
        help_text="Needed when consent is given.",
    )
    script_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        status, method = data.get("status"), data.get("method")
        if status == ClinicalSession.ConsentStatus.GIVEN and not method:
            self.add_error("method", "Say how the client gave consent: verbal, written or electronic.")
        if status == ClinicalSession.ConsentStatus.NOT_RECORDED:
            data["method"] = ""
        return data


class ConsentScriptForm(forms.Form):
    text = forms.CharField(
        label="Consent script",
        required=False,
        max_length=20_000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="What the clinician reads or shows to the client before recording. Each change is kept as a new "
        "version; every session records the version its client was shown.",
        validators=[multi_line_text],
    )
    require_before_processing = forms.BooleanField(
        label="Require consent before processing",
        required=False,
        help_text="When on, a session is not transcribed or drafted until its client's consent is recorded as given.",
    )
