"""Free text is text: the one check every form and API serializer applies to what people type.

Control characters (NUL, escape sequences, backspace, the C1 range) and the invisible characters that reorder
what is shown (bidirectional overrides and isolates) have no place in a client label, a name or a note. They
can forge log lines or terminal output, hide text in an export, or break a database (PostgreSQL refuses NUL).
Single-line fields refuse line breaks and tabs too; multi-line fields keep them.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# C0 controls but tab, line feed and carriage return; DEL; C1 controls; bidirectional embeddings, overrides and
# isolates; line and paragraph separators.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_MULTI_LINE_REFUSED = re.compile(f"[{_CONTROL}]")
_SINGLE_LINE_REFUSED = re.compile(f"[{_CONTROL}\t\n\r]")


def has_control_characters(text: str, *, multi_line: bool = False) -> bool:
    """Whether ``text`` holds a character this module refuses (line breaks and tabs allowed when multi-line)."""
    return (_MULTI_LINE_REFUSED if multi_line else _SINGLE_LINE_REFUSED).search(text) is not None


@deconstructible(path="config.validators.TextValidator")
class TextValidator:
    def __init__(self, *, multi_line: bool) -> None:
        self.multi_line = multi_line

    def __call__(self, value: object) -> None:
        if not isinstance(value, str):
            return
        pattern = _MULTI_LINE_REFUSED if self.multi_line else _SINGLE_LINE_REFUSED
        found = pattern.search(value)
        if found is None:
            return
        character = f"U+{ord(found.group()):04X}"
        if self.multi_line or found.group() not in "\t\n\r":
            message = f"Remove the control character ({character}) from this text; it may have come with a paste."
        else:
            message = "Keep this on one line: remove the line break or tab."
        raise ValidationError(message, code="control_character", params={"character": character})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextValidator) and other.multi_line == self.multi_line

    def __hash__(self) -> int:
        return hash(self.multi_line)


single_line_text = TextValidator(multi_line=False)
multi_line_text = TextValidator(multi_line=True)
