"""The formats page's forms: a format's name, key and length, its sections (a formset that works without
JavaScript: position numbers to reorder, a checkbox to remove, a button to add), an example note, a default."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from formats.builtin import FormatLength, TemplateSpec
from formats.validation import (
    MAX_HEADING_LENGTH,
    MAX_INSTRUCTION_LENGTH,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SECTIONS,
    check_format_key,
    clean_example,
    clean_line,
)

_LINE_BREAK = re.compile(r" *(?:\r\n|\r|\n)+ *")


def _single_line(text: str) -> str:
    """A textarea sends line breaks; an instruction is one line of the drafting prompt."""
    return _LINE_BREAK.sub(" ", text)


class FormatForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=MAX_NAME_LENGTH,
        strip=False,
        help_text="As clinicians see it in the list of formats, e.g. “Intake assessment”.",
    )
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=MAX_KEY_LENGTH,
        help_text="How the API names this format, e.g. “intake”. Leave empty to derive it from the name. "
        "It cannot be changed later.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    length = forms.ChoiceField(
        label="Length of drafted notes",
        choices=FormatLength.choices,
        initial=FormatLength.STANDARD,
        widget=forms.RadioSelect,
        help_text="Brief keeps to the essentials; detailed includes every relevant point said.",
    )

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["key"]

    def clean_name(self) -> str:
        return clean_line(self.cleaned_data["name"], what="name", max_length=MAX_NAME_LENGTH)

    def clean_key(self) -> str:
        key = str(self.cleaned_data.get("key") or "").strip()
        return check_format_key(key) if key else ""


class SectionForm(forms.Form):
    key = forms.CharField(required=False, max_length=MAX_KEY_LENGTH, widget=forms.HiddenInput)
    heading = forms.CharField(label="Heading", max_length=MAX_HEADING_LENGTH, strip=False)
    instruction = forms.CharField(
        label="Instruction",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the drafting model should write here.",
    )

    def has_changed(self) -> bool:
        # The hidden key alone does not make a row: a row whose heading and instruction were emptied is dropped.
        return any(str(self.data.get(self.add_prefix(name), "")).strip() for name in ("heading", "instruction"))

    def clean_heading(self) -> str:
        return clean_line(self.cleaned_data["heading"], what="heading", max_length=MAX_HEADING_LENGTH)

    def clean_instruction(self) -> str:
        text = _single_line(self.cleaned_data["instruction"])
        return clean_line(text, what="instruction", max_length=MAX_INSTRUCTION_LENGTH)


class BaseSectionFormSet(forms.BaseFormSet[SectionForm]):
    default_error_messages = {
        "too_few_forms": "A format needs at least one section.",
        "too_many_forms": f"A format has at most {MAX_SECTIONS} sections.",
    }

    def add_fields(self, form: SectionForm, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].label = "Position"
        form.fields["ORDER"].widget.attrs.update({"min": 1, "class": "section-order-input"})
        form.fields["DELETE"].label = "Remove this section"


SectionFormSet = forms.formset_factory(
    SectionForm,
    formset=BaseSectionFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_SECTIONS,
    validate_max=True,
    absolute_max=MAX_SECTIONS,
    can_order=True,
    can_delete=True,
)


def kept_sections(formset: forms.BaseFormSet[SectionForm]) -> tuple[list[SectionForm], list[dict[str, str]]]:
    """The rows kept, in their chosen order, and their sections (after ``is_valid``)."""
    kept: list[SectionForm] = list(formset.ordered_forms)
    return kept, [
        {
            "key": str(form.cleaned_data.get("key") or ""),
            "heading": form.cleaned_data["heading"],
            "instruction": form.cleaned_data["instruction"],
        }
        for form in kept
    ]


def section_initial(spec: TemplateSpec | None) -> list[dict[str, Any]]:
    if spec is None:
        return [{"key": "", "heading": "", "instruction": "", "ORDER": 1}]
    return [
        {"key": s.key, "heading": s.heading, "instruction": s.instruction, "ORDER": n}
        for n, s in enumerate(spec.sections, start=1)
    ]


class ExampleForm(forms.Form):
    example = forms.CharField(
        label="An example note",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="Paste a note written the way you like. Headings on lines of their own (“SUBJECTIVE”, "
        "“## Plan”, “Assessment:”, “**Plan**”) become sections. Nothing is saved until you save the format.",
    )

    def clean_example(self) -> str:
        return clean_example(self.cleaned_data["example"])


class DefaultFormatForm(forms.Form):
    default_note_type = forms.ChoiceField(
        label="Your default format",
        required=False,
        help_text="New sessions you create start in this format; you can still choose another per session.",
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_note_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "The practice's usual (SOAP)"), *choices]
