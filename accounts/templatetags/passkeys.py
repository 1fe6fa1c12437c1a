"""Data for the passkey pages' script (static/js/passkeys.js), in data- attributes: the Content-Security-Policy
allows no inline script, not even the JSON blocks allauth's own templates use."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder

register = template.Library()


@register.filter
def json_attribute(value: Any) -> str:
    """``value`` as JSON, for an attribute: the template escapes it, and the script's ``dataset`` reads it back."""
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
