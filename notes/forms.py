"""Forms of the note pages."""

from __future__ import annotations

from typing import Any

from django import forms

from config.validators import multi_line_text
from notes.content import Section
from notes.models import Note
from notes.services import ADDENDUM_MAX_CHARS, clean_addendum_text

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
                validators=[multi_line_text],
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


class AddendumForm(forms.Form):
    """Text added to a signed note; it is signed by its author when saved."""

    text = forms.CharField(
        label="Addendum",
        strip=False,
        help_text=f"Plain text, up to {ADDENDUM_MAX_CHARS:,} characters. It is signed in your name when you add it.",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": ADDENDUM_MAX_CHARS, "spellcheck": "true"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "addendum_%s")
        super().__init__(*args, **kwargs)

    def clean_text(self) -> str:
        try:
            return clean_addendum_text(self.cleaned_data["text"])
        except ValueError as refused:
            raise forms.ValidationError(str(refused)) from None
