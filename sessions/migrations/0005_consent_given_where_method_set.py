"""Sessions whose consent method was recorded before consent had a status: a method set meant consent given."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def given_where_method_set(apps: Any, schema_editor: Any) -> None:
    ClinicalSession = apps.get_model("clinical_sessions", "ClinicalSession")
    ClinicalSession.objects.exclude(consent_method="").update(consent_status="given")


def method_alone_again(apps: Any, schema_editor: Any) -> None:
    # Going back, the method alone carries the meaning again: a declined consent's method would read as given.
    ClinicalSession = apps.get_model("clinical_sessions", "ClinicalSession")
    ClinicalSession.objects.exclude(consent_status="given").update(consent_method="")


class Migration(migrations.Migration):
    dependencies = [
        ("clinical_sessions", "0004_consent_status_scripts_and_recording_parts"),
    ]

    operations = [
        migrations.RunPython(given_where_method_set, method_alone_again),
    ]
