"""One-click fixes: where the transcript says something specific instead of what the note wrote.

A ``medication``, ``dose``, ``number`` or ``laterality`` flag carries the statement's words it is about
(``Flag.written``) and the transcript's words (``Flag.said``). The fix puts the transcript's words in place of the
note's, written the way notes write them: "ten milligrams" becomes "10 mg", "one fifty over ninety" "150/90", and
for a side only the side changes ("right knee" becomes "left knee"). Flags of other kinds, and flags whose words
the transcript does not give, have no fix: a clinician edits those by hand.
"""

from __future__ import annotations

from notes.content import Flag, FlagKind
from notes.faithfulness.numbers import Quantity, all_quantities
from notes.faithfulness.text import tokenize

FIXABLE_KINDS = frozenset({FlagKind.MEDICATION, FlagKind.DOSE, FlagKind.NUMBER, FlagKind.LATERALITY})

_SIDES = {"left": "left", "right": "right", "bilateral": "bilateral", "both": "bilateral"}
# How notes write a unit, by the reader's canonical unit: (singular, plural, joined to the number).
_UNIT_WRITTEN: dict[str, tuple[str, str, bool]] = {
    "mg": ("mg", "mg", False),
    "mcg": ("mcg", "mcg", False),
    "g": ("g", "g", False),
    "kg": ("kg", "kg", False),
    "lb": ("lb", "lb", False),
    "ml": ("mL", "mL", False),
    "l": ("L", "L", False),
    "unit": ("unit", "units", False),
    "iu": ("IU", "IU", False),
    "%": ("%", "%", True),
    "mmhg": ("mmHg", "mmHg", False),
    "bpm": ("bpm", "bpm", False),
    "degree": ("degree", "degrees", False),
    "cm": ("cm", "cm", False),
    "mm": ("mm", "mm", False),
    "inch": ("inch", "inches", False),
    "ft": ("ft", "ft", False),
    "tablet": ("tablet", "tablets", False),
    "puff": ("puff", "puffs", False),
    "second": ("second", "seconds", False),
    "minute": ("minute", "minutes", False),
    "hour": ("hour", "hours", False),
    "day": ("day", "days", False),
    "week": ("week", "weeks", False),
    "month": ("month", "months", False),
    "year": ("year", "years", False),
}


def replacement(flag: Flag) -> str:
    """What a fix puts in place of ``flag.written``; "" when the flag has no fix."""
    if flag.kind not in FIXABLE_KINDS or not flag.written or not flag.said:
        return ""
    if flag.kind == FlagKind.LATERALITY:
        side = _SIDES.get(flag.said.lower())
        written_side, _space, rest = flag.written.partition(" ")
        if side is None or written_side.lower() not in _SIDES:
            return ""
        if written_side[:1].isupper():
            side = side.capitalize()
        return f"{side} {rest}".strip()
    return as_written(flag.said)


def fixed_text(text: str, flag: Flag) -> str | None:
    """``text`` with the flag's fix applied (its first ``written`` words replaced); None when there is no fix or
    the words are no longer in the text."""
    new = replacement(flag)
    if not new or flag.written not in text or new == flag.written:
        return None
    return text.replace(flag.written, new, 1)


def as_written(said: str) -> str:
    """Words as said, with their amounts written the way notes write them ("meloxicam fifteen milligrams" →
    "meloxicam 15 mg")."""
    said = " ".join(said.split())
    tokens = tokenize(said)
    pieces: list[str] = []
    cursor = 0
    for quantity in all_quantities(tokens, said):
        rendered = _render(quantity)
        if not rendered or quantity.start < 0 or quantity.end > len(tokens):
            continue
        start, end = tokens[quantity.start].start, tokens[quantity.end - 1].end
        if start < cursor:
            continue
        pieces.append(said[cursor:start])
        pieces.append(rendered)
        cursor = end
    pieces.append(said[cursor:])
    return "".join(pieces).strip()


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _render(quantity: Quantity) -> str:
    if quantity.second is not None:
        return f"{_number(quantity.low)}/{_number(quantity.second)}"
    if quantity.is_vague or quantity.dimension in ("frequency", "age", "year", "type"):
        return ""
    written = _UNIT_WRITTEN.get(quantity.unit)
    if quantity.is_range:
        # "twenty to thirty" → "20 to 30", "six to eight weeks" → "6 to 8 weeks"
        amount = f"{_number(quantity.low)} to {_number(quantity.high)}"
        if not quantity.unit:
            return amount
        if written is None:
            return ""
        return f"{amount}{'' if written[2] else ' '}{written[1]}"
    if quantity.dimension == "" or written is None:
        return ""
    singular, plural, joined = written
    unit = singular if quantity.low == 1 else plural
    return f"{_number(quantity.low)}{'' if joined else ' '}{unit}"
