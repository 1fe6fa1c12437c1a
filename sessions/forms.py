from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from sessions.models import ClinicalSession
from sessions.states import SessionState


class SessionForm(forms.Form):
    client_label = forms.CharField(
        max_length=80,
        label="Client label",
        help_text="A pseudonymous label such as initials or a chart number. Avoid full names.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
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
    )

    def __init__(self, *args: Any, note_type_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("note_type", note_type_choices)

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
