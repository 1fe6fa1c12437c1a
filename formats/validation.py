"""What a practice's own format may contain, checked the same way for the formats page and the API.

Headings and instructions end up in the drafting model's prompt, one line each, so they are single lines of
printable text of bounded length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from config.validators import has_control_characters
from formats.builtin import BUILTIN_TEMPLATES

MIN_SECTIONS = 1
MAX_SECTIONS = 30
MAX_NAME_LENGTH = 100
MAX_HEADING_LENGTH = 100
MAX_INSTRUCTION_LENGTH = 500
MAX_KEY_LENGTH = 64
MAX_EXAMPLE_LENGTH = 20_000
MAX_FORMATS_PER_PRACTICE = 100

# A format key names it in URLs (/api/v1/templates/{key}) and in every session and note that uses it.
FORMAT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A section key is a key of the drafting model's JSON answer and of a note's sections.
SECTION_KEY = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
# Paths that sit where a format's key would: no format may take their name.
RESERVED_KEYS = frozenset({"from-example", "new", "default"})


def control_characters_in(text: str, *, allow_line_breaks: bool = False) -> bool:
    """Control characters, line separators and text direction overrides (which can make a heading read
    differently from what the model is sent): the one definition, config.validators."""
    return has_control_characters(text, multi_line=allow_line_breaks)


def clean_line(value: Any, *, what: str, max_length: int) -> str:
    """One line of printable text, trimmed; refused when empty, too long or holding control characters."""
    if not isinstance(value, str):
        raise ValidationError(f"The {what} must be text.")
    if control_characters_in(value):
        raise ValidationError(f"The {what} contains control characters or line breaks; use one line of text.")
    text = value.strip()
    if not text:
        raise ValidationError(f"Enter {'an' if what[:1] in 'aeiou' else 'a'} {what}.")
    if len(text) > max_length:
        raise ValidationError(f"The {what} is {len(text)} characters long; at most {max_length} are allowed.")
    return text


def clean_example(value: Any) -> str:
    """An example note pasted by the clinician: lines of text, bounded in length."""
    if not isinstance(value, str):
        raise ValidationError("The example must be text.")
    if control_characters_in(value, allow_line_breaks=True):
        raise ValidationError("The example contains control characters; paste plain text.")
    text = value.strip()
    if not text:
        raise ValidationError("Paste an example note.")
    if len(text) > MAX_EXAMPLE_LENGTH:
        raise ValidationError(f"The example is longer than {MAX_EXAMPLE_LENGTH:,} characters; paste one note.")
    return text


def check_format_key(value: Any) -> str:
    """The syntax of a format key and the names it may not take; uniqueness in the practice is the service's."""
    if not isinstance(value, str) or not FORMAT_KEY.match(value):
        raise ValidationError(
            f"Use 1 to {MAX_KEY_LENGTH} lowercase letters, digits, hyphens or underscores, "
            "starting with a letter or digit (e.g. “intake”)."
        )
    if value in BUILTIN_TEMPLATES:
        raise ValidationError(f"“{value}” is a built-in format; choose another key.")
    if value in RESERVED_KEYS:
        raise ValidationError(f"“{value}” is reserved; choose another key.")
    return value


def key_from_text(text: str, *, taken: Iterable[str] = (), separator: str = "_", fallback: str = "section") -> str:
    """A key derived from a heading or a name, unique among ``taken``: "Chief complaint" → "chief_complaint"."""
    base = slugify(text).replace("-", separator).replace("_", separator)
    base = base.strip(separator)[: MAX_KEY_LENGTH - 4] or fallback
    if not base[0].isalpha():
        base = f"{fallback}{separator}{base}"[: MAX_KEY_LENGTH - 4]
    used = set(taken)
    key, number = base, 2
    while key in used:
        key = f"{base}{separator}{number}"
        number += 1
    return key


def clean_sections(raw: Any) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """The sections in order, each ``{key, heading, instruction}`` with a key (derived from the heading when
    absent), and the problems found, by field (``sections``, or ``sections.<n>.<field>``)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, list):
        return [], {"sections": ["Give the sections as a list."]}
    if not MIN_SECTIONS <= len(raw) <= MAX_SECTIONS:
        return [], {"sections": [f"A format has {MIN_SECTIONS} to {MAX_SECTIONS} sections; this one has {len(raw)}."]}
    cleaned: list[dict[str, str]] = []
    for index, section in enumerate(raw):
        if not isinstance(section, Mapping):
            errors[f"sections.{index}"] = ["Each section is an object with a heading and an instruction."]
            continue
        item: dict[str, str] = {}
        for name, limit in (("heading", MAX_HEADING_LENGTH), ("instruction", MAX_INSTRUCTION_LENGTH)):
            try:
                item[name] = clean_line(section.get(name), what=name, max_length=limit)
            except ValidationError as error:
                errors[f"sections.{index}.{name}"] = list(error.messages)
        key = section.get("key")
        if key not in (None, ""):
            if not isinstance(key, str) or not SECTION_KEY.match(key):
                errors[f"sections.{index}.key"] = [
                    "Use lowercase letters, digits and underscores, starting with a letter (e.g. “plan”)."
                ]
            elif key in {c.get("key") for c in cleaned}:
                errors[f"sections.{index}.key"] = [f"The section key “{key}” is used twice."]
            else:
                item["key"] = key
        cleaned.append(item)
    if errors:
        return [], errors
    taken = {item["key"] for item in cleaned if "key" in item}
    for item in cleaned:
        if "key" not in item:
            item["key"] = key_from_text(item["heading"], taken=taken)
            taken.add(item["key"])
    return [{"key": s["key"], "heading": s["heading"], "instruction": s["instruction"]} for s in cleaned], {}
