"""Forms of the note pages and of the staff admin for practice templates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from notes.builtin_templates import BUILTIN_TEMPLATES
from notes.content import Section
from notes.models import Note, NoteTemplate

# Generous for a long medical note, small enough that one form cannot fill the database.
SECTION_MAX_CHARS = 100_000


def section_field_name(key: str) -> str:
    return f"section_{key}"


class NoteEditForm(forms.Form):
    """One textarea per section of the note, plus the version the clinician started from."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, note: Note, read_only: bool = False, **kwargs: Any) -> None:
        self.note_sections: list[Section] = list(note.content.sections)
        kwargs.setdefault(
            "initial",
            {"version": note.version, **{section_field_name(s.key): s.text for s in self.note_sections}},
        )
        super().__init__(*args, **kwargs)
        self.section_keys: list[str] = []
        for section in self.note_sections:
            attrs = {"rows": 8, "spellcheck": "true", "data-section-text": "", "data-heading": section.heading}
            if read_only:
                attrs["readonly"] = ""
            self.fields[section_field_name(section.key)] = forms.CharField(
                label=section.heading,
                required=False,
                strip=False,
                max_length=SECTION_MAX_CHARS,
                widget=forms.Textarea(attrs=attrs),
            )
            self.section_keys.append(section.key)

    def section_texts(self) -> dict[str, str]:
        """The submitted texts; a section missing from the submission is left as it is, not emptied."""
        return {
            key: self.cleaned_data[section_field_name(key)]
            for key in self.section_keys
            if section_field_name(key) in self.data
        }


class DraftAcceptForm(forms.Form):
    """Accept the pending AI draft the clinician compared, over the version they were looking at."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    draft_ref = forms.CharField(max_length=100, widget=forms.HiddenInput)


class DraftDismissForm(forms.Form):
    draft_ref = forms.CharField(max_length=100, widget=forms.HiddenInput)


class NoteSignForm(forms.Form):
    """Signing asks the clinician to confirm the review; the version makes sure they sign what they read."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reviewed = forms.BooleanField(
        label="I have reviewed this note",
        error_messages={"required": "Tick “I have reviewed this note” to sign it."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The editor form on the same page already uses the default ids.
        kwargs.setdefault("auto_id", "sign_%s")
        super().__init__(*args, **kwargs)


class NoteTemplateAdminForm(forms.ModelForm[NoteTemplate]):
    class Meta:
        model = NoteTemplate
        fields = ["practice", "key", "name", "sections"]

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
