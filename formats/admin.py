"""Staff edit practices' own note formats in the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from formats.builtin import BUILTIN_TEMPLATES
from formats.models import NoteTemplate


class NoteTemplateAdminForm(forms.ModelForm[NoteTemplate]):
    class Meta:
        model = NoteTemplate
        fields = ["practice", "key", "name", "sections", "retired_at"]

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"]
        if key in BUILTIN_TEMPLATES:
            raise ValidationError(f"“{key}” is a built-in format; choose another key for a practice's own template.")
        return key

    def clean_sections(self) -> Any:
        sections = self.cleaned_data["sections"]
        # The model validator checks the shape; here the content a clinician will see must be usable too.
        if isinstance(sections, list):
            for section in sections:
                if not isinstance(section, dict):
                    continue
                for name in ("heading", "instruction"):
                    value = section.get(name)
                    if not isinstance(value, str) or not value.strip():
                        raise ValidationError(f"Every section needs a non-empty {name} (text).")
                key = section.get("key")
                if isinstance(key, str) and len(key) > 64:
                    raise ValidationError(f"Section key {key[:64]!r}… is longer than 64 characters.")
        return sections


@admin.register(NoteTemplate)
class NoteTemplateAdmin(admin.ModelAdmin[NoteTemplate]):
    form = NoteTemplateAdminForm
    list_display = ("name", "key", "practice", "length", "retired_at", "updated_at")
    list_filter = ("length", "practice")
    search_fields = ("name", "key", "practice__name", "practice__slug")
    list_select_related = ("practice",)
    autocomplete_fields = ("practice",)
    # Length and order are the practice's choices, made on its formats page.
    readonly_fields = ("length", "position", "created_at", "updated_at")
    fields = ("practice", "key", "name", "sections", "retired_at", "length", "position", "created_at", "updated_at")
