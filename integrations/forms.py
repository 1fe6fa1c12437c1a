from __future__ import annotations

from django import forms

from config.validators import single_line_text
from integrations.webhooks import DestinationRefused, check_destination


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label="Endpoint URL",
        assume_scheme="https",
        help_text="Where job.succeeded and job.failed events are POSTed, e.g. https://ehr.example.org/hooks.",
    )
    description = forms.CharField(max_length=100, required=False, label="Description", validators=[single_line_text])

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        try:
            check_destination(url)
        except DestinationRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url
