"""Forms of the note pages."""

from __future__ import annotations

from typing import Any

from django import forms

from config.validators import multi_line_text
from notes.content import DISMISSAL_REASON_MAX_CHARS, Flag, FlagPlace, Section
from notes.models import Note
from notes.services import ADDENDUM_MAX_CHARS, clean_addendum_text, clean_dismissal_reason, unresolved_flags

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
    """Signing asks the clinician to confirm the review; the version makes sure they sign what they read.

    A note with flags still to review also asks them to acknowledge those: ``flagged`` says what ("the 2 flagged
    statements"), and without it the acknowledgement is not asked for.
    """

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reviewed = forms.BooleanField(
        label="I have reviewed this note",
        error_messages={"required": "Tick “I have reviewed this note” to sign it."},
    )
    acknowledge_flags = forms.BooleanField(required=True)

    def __init__(self, *args: Any, flagged: str = "", **kwargs: Any) -> None:
        # The editor form on the same page already uses the default ids.
        kwargs.setdefault("auto_id", "sign_%s")
        super().__init__(*args, **kwargs)
        if flagged:
            label = f"I have reviewed {flagged}"
            field = self.fields["acknowledge_flags"]
            field.label = label
            field.error_messages = {"required": f"Tick “{label}” to sign: the note still has flags to review."}
        else:
            del self.fields["acknowledge_flags"]

    @property
    def asks_acknowledgement(self) -> bool:
        return "acknowledge_flags" in self.fields


def flagged_description(flags: list[tuple[FlagPlace, Flag]]) -> str:
    """The flags still to review, in words for the acknowledgement: "the 2 flagged statements", "the flagged
    statement and the flag about the whole note"; "" when there are none."""
    statements = len({(place.section, place.statement) for place, _flag in flags if place.statement is not None})
    note_flags = sum(1 for place, _flag in flags if place.statement is None)
    parts = []
    if statements:
        parts.append("the flagged statement" if statements == 1 else f"the {statements} flagged statements")
    if note_flags:
        parts.append(
            "the flag about the whole note" if note_flags == 1 else f"the {note_flags} flags about the whole note"
        )
    return " and ".join(parts)


def sign_form_for(note: Note, data: Any = None) -> NoteSignForm:
    """The sign form of ``note`` as it is now, with the acknowledgement its flags ask for."""
    flagged = flagged_description(unresolved_flags(note)) if not note.is_signed else ""
    return NoteSignForm(data, initial={"version": note.version}, flagged=flagged)


class FlagForm(forms.Form):
    """Which flag of which version: a statement's (section key, statement index, flag index) or the note's own
    (no section, no statement)."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    section = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)
    statement = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    position = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def place(self) -> FlagPlace:
        data = self.cleaned_data
        statement = data.get("statement")
        return FlagPlace(data.get("section") or "", statement if data.get("section") else None, data["position"])


class FlagDismissForm(FlagForm):
    reason = forms.CharField(label="Why it needs nothing done", max_length=DISMISSAL_REASON_MAX_CHARS)

    def clean_reason(self) -> str:
        try:
            return clean_dismissal_reason(self.cleaned_data["reason"])
        except ValueError as refused:
            raise forms.ValidationError(str(refused)) from None


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
