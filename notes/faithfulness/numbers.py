"""Quantities in text, written or spoken: "40 mg", "forty milligrams", "one fifty over ninety", "a week and a half".

A transcript says numbers the way people say them; a note writes them the way clinicians write them. Both are
read into ``Quantity`` values (a range, a unit and a kind) so that "twice a day" meets "BID" and "two weeks"
meets "14 days". The parser is small and written for clinical speech: the general-purpose converters we tried
read "one fifty over ninety" as "1 50 over 90" and leave "two out of six" or "a couple of weeks" alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from notes.faithfulness.text import Token, word_list

_UNITS_WORDS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS_WORDS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTHS = frozenset(
    word_list(
        """
        january february march april may june july august september october november december
        """
    )
)
_ORDINAL_SUFFIX = frozenset({"st", "nd", "rd", "th"})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# Words that stand for a number only loosely; their value is a range.
_VAGUE = {"couple": (2.0, 2.0), "few": (2.0, 4.0), "several": (3.0, 7.0), "dozen": (12.0, 12.0)}

# unit word -> (canonical unit, dimension, factor to the dimension's base)
_UNITS: dict[str, tuple[str, str, float]] = {}


def _unit(names: str, canonical: str, dimension: str, factor: float = 1.0) -> None:
    for name in names.split():
        _UNITS[name] = (canonical, dimension, factor)


_unit("mg milligram milligrams mgs", "mg", "mass", 1.0)
_unit("mcg microgram micrograms ug", "mcg", "mass", 0.001)
_unit("g gram grams gm", "g", "mass", 1000.0)
_unit("kg kilogram kilograms kilo kilos", "kg", "weight", 1.0)
_unit("lb lbs pound pounds", "lb", "weight", 0.4536)
_unit("ml milliliter milliliters millilitre cc ccs", "ml", "volume", 1.0)
_unit("l liter liters litre", "l", "volume", 1000.0)
_unit("unit units", "unit", "units", 1.0)
_unit("iu", "iu", "units", 1.0)
_unit("% percent percentage", "%", "percent", 1.0)
_unit("mmhg", "mmhg", "pressure", 1.0)
_unit("bpm", "bpm", "rate", 1.0)
_unit("degree degrees °", "degree", "temperature", 1.0)
_unit("f fahrenheit", "degree", "temperature", 1.0)
_unit("second seconds sec secs", "second", "time", 1 / 86400)
_unit("minute minutes min mins", "minute", "time", 1 / 1440)
_unit("hour hours hr hrs", "hour", "time", 1 / 24)
_unit("day days", "day", "time", 1.0)
_unit("night nights", "day", "time", 1.0)
_unit("week weeks wk wks", "week", "time", 7.0)
_unit("month months mo mos", "month", "time", 30.4)
_unit("year years yr yrs", "year", "time", 365.25)
_unit("cm centimeter centimeters", "cm", "length", 1.0)
_unit("mm millimeter millimeters", "mm", "length", 0.1)
_unit("inch inches", "inch", "length", 2.54)
_unit("foot feet ft", "ft", "length", 30.48)
_unit("tablet tablets tab tabs pill pills capsule capsules", "tablet", "tablets", 1.0)
_unit("puff puffs", "puff", "puffs", 1.0)
_unit("drink drinks beer beers", "drink", "drinks", 1.0)
_unit("cigarette cigarettes", "cigarette", "cigarettes", 1.0)
_unit("pack packs", "pack", "packs", 1.0)
_unit("time times", "time", "times", 1.0)

DOSE_DIMENSIONS = frozenset({"mass", "volume", "units", "tablets", "puffs"})

_FREQUENCY_WORDS = {
    "daily": 1.0,
    "nightly": 1.0,
    "qd": 1.0,
    "qday": 1.0,
    "qhs": 1.0,
    "qam": 1.0,
    "qpm": 1.0,
    "bid": 2.0,
    "tid": 3.0,
    "qid": 4.0,
    "weekly": 1 / 7,
    "biweekly": 1 / 14,
    "monthly": 1 / 30.4,
    "yearly": 1 / 365.25,
    "annually": 1 / 365.25,
}
_PERIOD_WORDS = {
    "day": 1.0,
    "daily": 1.0,
    "night": 1.0,
    "morning": 1.0,
    "evening": 1.0,
    "week": 7.0,
    "month": 30.4,
    "year": 365.25,
    "hour": 1 / 24,
}


# Words that can begin a number or a frequency; every other word is skipped at once.
_STARTS = frozenset({*_UNITS_WORDS, *_TENS_WORDS, *_ORDINALS, *_VAGUE, "a", "an", "half", "point"})
# The words after which "a" or "an" may be an amount: a unit ("a week"), a vague amount, a scale, "half", "-", "plus".
_AFTER_ARTICLE = frozenset({*_UNITS, *_VAGUE, *_SCALES, "half", "-", "plus", "+"})
_FREQUENCY_STARTS = frozenset(
    {
        "once",
        "twice",
        "thrice",
        "bid",
        "tid",
        "qid",
        "qhs",
        "qd",
        "daily",
        "nightly",
        "weekly",
        "monthly",
        "every",
        "each",
        "a",
        "per",
    }
)


@dataclass(frozen=True, slots=True)
class Quantity:
    low: float
    high: float
    unit: str  # canonical unit, "" when none was said
    dimension: str  # "mass", "time", "frequency" (per day), "bp", "ratio", "age", "grade", "year", "" ...
    start: int  # token range in the text it was read from
    end: int
    second: float | None = None  # the lower number of "150/90" or the denominator of "3 out of 6"
    is_range: bool = False  # "1 to 2 beers", "every 6 to 8 hours": both ends were said

    def base_range(self) -> tuple[float, float]:
        factor = _UNITS[self.unit][2] if self.unit in _UNITS else 1.0
        return self.low * factor, self.high * factor

    @property
    def is_dose(self) -> bool:
        return self.dimension in DOSE_DIMENSIONS

    @property
    def is_vague(self) -> bool:
        return self.low != self.high and not self.is_range


def _number_word(text: str) -> int | None:
    if text in _UNITS_WORDS:
        return _UNITS_WORDS[text]
    return _TENS_WORDS.get(text)


_DIGITS = re.compile(r"\d+(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+")


def _digits(text: str) -> float | None:
    if _DIGITS.fullmatch(text):
        return float(text.replace(",", ""))
    return None


@dataclass(slots=True)
class _Value:
    low: float
    high: float
    start: int
    end: int
    spoken: bool  # said in words (needs care: "one" is also a pronoun)
    small_word: bool = False  # a lone "one"/"a"/"an"

    @property
    def is_vague_word(self) -> bool:
        return self.low != self.high


class _Reader:
    """Turns the number words and digits of a token list into values, then reads units around them."""

    def __init__(self, tokens: Sequence[Token], words: Sequence[str] | None = None) -> None:
        self.tokens = tokens
        self.words = [token.text for token in tokens] if words is None else words

    def word(self, index: int) -> str:
        return self.words[index] if 0 <= index < len(self.words) else ""

    # -- values ----------------------------------------------------------------------------------------------

    def spoken_integer(self, index: int) -> tuple[int, int] | None:
        """The integer spelled from ``index`` on and the index after it: "five hundred and twenty"."""
        total = 0
        current = 0
        position = index
        seen = False
        while position < len(self.words):
            word = self.word(position)
            if word in ("a", "an") and self.word(position + 1) in _SCALES and not seen:
                current = 1
                seen = True
                position += 1
                continue
            value = _number_word(word)
            if value is not None and word != "oh":
                # "five hundred" + "twenty", "twenty" + "five"; never "five" + "five"
                if current % 100 == 0 or (current % 10 == 0 and value < 10 and current % 100 >= 20):
                    current += value
                    seen = True
                    position += 1
                    continue
                break
            if word in _SCALES and seen:
                scale = _SCALES[word]
                if scale == 100:
                    current = (current or 1) * 100
                else:
                    total += (current or 1) * scale
                    current = 0
                position += 1
                continue
            if (
                word == "and"
                and seen
                and self.word(position + 1) in {*_UNITS_WORDS, *_TENS_WORDS}
                and (total + current) % 100 == 0
                and (total + current) >= 100
            ):
                position += 1  # "one hundred and twenty"
                continue
            if word == "-" and seen and _number_word(self.word(position + 1)) is not None and current % 10 == 0:
                position += 1  # twenty-five
                continue
            if seen and current % 100 >= 20 and current % 10 == 0 and _ORDINALS.get(word, 10) < 10:
                current += _ORDINALS[word]  # "twenty fourth"
                position += 1
            break
        if not seen:
            return None
        return total + current, position

    def _decimals(self, index: int) -> tuple[str, int]:
        """The digits said one by one from ``index`` ("five", "zero five") and the index after them."""
        decimals = ""
        position = index
        while len(decimals) < 3 and (digit := _UNITS_WORDS.get(self.word(position))) is not None and digit < 10:
            decimals += str(digit)
            position += 1
        return decimals, position

    def _spaced(self, index: int) -> bool:
        """Whether the token at ``index`` stands apart from both neighbours (" . " between two numbers)."""
        tokens = self.tokens
        return (
            0 < index < len(tokens) - 1
            and tokens[index].start > tokens[index - 1].end
            and tokens[index + 1].start > tokens[index].end
        )

    def value_at(self, index: int) -> _Value | None:
        word = self.word(index)
        if word == "point" and _UNITS_WORDS.get(self.word(index + 1), 10) < 10:
            # "point five centimeters"
            decimals, position = self._decimals(index + 1)
            number = float(f"0.{decimals}")
            return _Value(number, number, index, position, spoken=True)
        digits = _digits(word)
        if digits is not None:
            end = index + 1
            if self.word(end) in _ORDINAL_SUFFIX:
                end += 1
            return _Value(digits, digits, index, end, spoken=False)
        if word in _ORDINALS:
            # "the thirteenth", "january thirteenth": a day of the month
            if self.word(index - 1) in _MONTHS or self.word(index - 1) == "the":
                number = float(_ORDINALS[word])
                return _Value(number, number, index, index + 1, spoken=True)
            return None
        if word == "half" or (word in ("a", "an") and self.word(index + 1) == "half"):
            # "half a cc", "a half a tablet"
            start = index
            end = index + (2 if word != "half" else 1)
            if self.word(end) in ("a", "an"):
                end += 1
            return _Value(0.5, 0.5, start, end, spoken=True)
        if word in ("a", "an") and self.word(index + 1) in _VAGUE:
            return None  # read with the word that follows
        if word in _VAGUE:
            low, high = _VAGUE[word]
            start = index - 1 if self.word(index - 1) in ("a", "an") else index
            end = index + 1 + (self.word(index + 1) == "of")
            return _Value(low, high, start, end, spoken=True)
        if word in ("a", "an") and self.word(index + 1) not in _SCALES:
            return _Value(1, 1, index, index + 1, spoken=True, small_word=True)
        parsed = self.spoken_integer(index)
        if parsed is None:
            return None
        value, end = parsed
        small = word == "one" and end == index + 1
        # "one fifty" (150), "nineteen eighty two" (1982): a clinician's shorthand for three and four digits.
        if end == index + 1 and value < 20 and value > 0:
            follow = self.spoken_integer(end)
            if (follow is not None and 10 <= follow[0] <= 99 and _UNITS_WORDS.get(self.word(end), 10) >= 10) or (
                follow is not None and self.word(end) == "oh" and follow[0] < 10
            ):
                value, end, small = value * 100 + follow[0], follow[1], False
        if word == "twenty" and end == index + 1:
            follow = self.spoken_integer(end)
            if follow is not None and 10 <= follow[0] <= 99:
                value, end = 2000 + follow[0], follow[1]  # "twenty twenty one": a year
        if (
            self.word(end) == "."
            and _UNITS_WORDS.get(self.word(end + 1), 10) < 10
            and (self.word(end + 2) in _UNITS or self._spaced(end))
        ):
            # "twelve . five milligrams", "seven . three": a speech-to-text model's (or a tokenised transcript's)
            # way of writing "twelve point five"
            decimals, position = self._decimals(end + 1)
            number = float(f"{value}.{decimals}")
            return _Value(number, number, index, position, spoken=True)
        if self.word(end) == "point":
            decimals, position = self._decimals(end + 1)
            if decimals:
                number = float(f"{value}.{decimals}")
                return _Value(number, number, index, position, spoken=True)
        if self.word(end) == "and" and self.word(end + 1) == "a" and self.word(end + 2) == "half":
            return _Value(value + 0.5, value + 0.5, index, end + 3, spoken=True)
        return _Value(value, value, index, end, spoken=True, small_word=small)

    def values(self) -> list[_Value]:
        found: list[_Value] = []
        words = self.words
        last = len(words) - 1
        index = 0
        for candidate in [i for i, token in enumerate(self.tokens) if token.is_number or words[i] in _STARTS]:
            if candidate < index:
                continue
            index = candidate
            word = words[index]
            if word[0] == "." and word not in _STARTS:
                continue  # ".5": a decimal is read from its digits before the point
            if word in ("a", "an") and (index == last or words[index + 1] not in _AFTER_ARTICLE):
                # "a" is one only before a unit ("a week"), a vague amount or a scale ("a few", "a hundred"); an
                # article before anything else would be read as a lone "one" and dropped
                index += 1
                continue
            value = self.value_at(index)
            if value is None:
                index += 1
                continue
            found.append(value)
            index = max(value.end, index + 1)
        return found


def _is_code(tokens: Sequence[Token], value: _Value, source: str) -> bool:
    """Digits that name things, not amounts: "covid-19", "l4-l5", a list's "1." at the start of a line."""
    first = tokens[value.start]
    if first.start > 1 and source[first.start - 1] == "-" and source[first.start - 2].isalnum():
        before = tokens[value.start - 2] if value.start >= 2 else None
        # "covid-19", "C5-6", "L4-L5": a name; "50-year-old" and "2-3 hours" are amounts
        if before is not None and not before.is_number:
            return True
    return value.start == 0 and len(tokens) > 1 and tokens[1].text in {".", ")"} and not value.spoken


def read_quantities(tokens: Sequence[Token], source: str = "", words: Sequence[str] | None = None) -> list[Quantity]:
    """Every quantity in ``tokens`` (as produced by ``tokenize(source)``), in order."""
    reader = _Reader(tokens, words)
    words = reader.words
    quantities: list[Quantity] = []
    values = reader.values()
    skip_until = -1
    for position, value in enumerate(values):
        if value.start < skip_until:
            continue
        if quantities and value.start < quantities[-1].end:
            continue  # part of the quantity before it: the "a half" of "a week and a half"
        if source and _is_code(tokens, value, source):
            continue
        end = value.end
        word_after = reader.word(end)
        before = reader.word(value.start - 1)
        if (word_after == ":" and _digits(reader.word(end + 1)) is not None) or (
            before == ":" and _digits(reader.word(value.start - 2)) is not None
        ):
            continue  # a time of day, 2:00 am
        # "150/90", "one fifty over ninety", "3/6", "three out of six"
        following = values[position + 1] if position + 1 < len(values) else None
        if (
            following is not None
            and words[end : following.start] == ["/"]
            and (following.low >= 1900 or reader.word(following.end) == "/")
        ):
            # a date, 10/10/2020 or 04/2021: read by the date check, not as a ratio
            stop = following.end
            if reader.word(stop) == "/" and stop + 1 < len(words):
                stop += 2
            skip_until = stop
            continue
        spoken_pair = (
            following is not None
            and following.start == end
            and value.spoken
            and following.spoken
            and 0 < following.low - value.low <= 4
            and following.low < 20
            and reader.word(following.end) in _UNITS
        )
        if (
            following is not None
            and (words[end : following.start] in (["to"], ["-"], ["or"], ["-", "to", "-"]) or spoken_pair)
            and not following.is_vague_word
            and following.low > value.low
            and not value.small_word
        ):
            # "1 to 2 beers", "six to eight hours", "six eight weeks maybe": a range, both ends said
            rest = read_quantities(tokens[following.start :], "")
            head = rest[0] if rest and rest[0].start == 0 else None
            if head is not None and head.second is None and head.dimension not in ("age", "grade"):
                quantities.append(
                    Quantity(
                        value.low,
                        following.low,
                        head.unit,
                        head.dimension,
                        value.start,
                        following.start + head.end,
                        is_range=True,
                    )
                )
                skip_until = following.start + head.end
                continue
        if following is not None and not following.small_word:
            link = words[end : following.start]
            if link in (["/"], ["over"]) or link == ["out", "of"]:
                dimension = "ratio" if link == ["out", "of"] or value.high <= 10 else "bp"
                unit = ""
                after = following.end
                if reader.word(after) in _UNITS and _UNITS[reader.word(after)][1] in ("pressure", "mass"):
                    unit = reader.word(after)
                    after += 1
                if unit and _UNITS[unit][1] == "mass":
                    dimension = "ratio"  # "5/325 mg": a combination dose
                    unit = ""
                quantities.append(
                    Quantity(value.low, value.high, "", dimension, value.start, after, second=following.low)
                )
                skip_until = after
                continue
        if (
            value.small_word
            and word_after == "to"
            and following is not None
            and words[end : following.start] == ["to"]
            and reader.words[value.start] == "one"
        ):
            rest = read_quantities(tokens[following.start :], "")
            head = rest[0] if rest and rest[0].start == 0 else None
            if head is not None and head.second is None and head.dimension not in ("age", "grade", "frequency"):
                quantities.append(
                    Quantity(
                        1,
                        following.low,
                        head.unit,
                        head.dimension,
                        value.start,
                        following.start + head.end,
                        is_range=True,
                    )
                )
                skip_until = following.start + head.end
                continue
        if value.small_word and (
            (word_after not in _UNITS and word_after not in ("-", "half", "plus", "+"))
            or word_after in ("second", "time")  # "a second injection", "a time when"
            or before in ("once", "twice", "thrice", "times", "time", "x", "per")
            or (before in _UNITS and _UNITS[before][1] in DOSE_DIMENSIONS)
        ):
            continue
        # "50-year-old", "50 year old", "fifty years old", "age 50"
        if (
            words[end : end + 3] in (["-", "year", "-"], ["year", "-", "old"])
            or words[end : end + 2] in (["year", "old"], ["years", "old"], ["yo"])
            or words[end : end + 4] == ["-", "year", "-", "old"]
            or before in ("age", "aged")
        ):
            stop = end
            while stop < len(words) and words[stop] in ("-", "year", "years", "old", "yo"):
                stop += 1
            quantities.append(Quantity(value.low, value.high, "year", "age", value.start, stop))
            continue
        # "1+ pitting edema", "one plus", "2+ pulses"
        if word_after in ("+", "plus"):
            quantities.append(Quantity(value.low, value.high, "", "grade", value.start, end + 1))
            continue
        # "once", "twice", "three times a day", "every six hours"
        frequency = _frequency(words, value, end)
        if frequency is not None:
            per_day, stop = frequency
            quantities.append(Quantity(per_day, per_day, "", "frequency", value.start, stop))
            continue
        if before == "every" and word_after in _UNITS and _UNITS[word_after][1] == "time":
            days = value.low * _UNITS[word_after][2]
            if days > 0:
                quantities.append(Quantity(1 / days, 1 / days, "", "frequency", value.start - 1, end + 1))
            continue
        unit = ""
        stop = end
        if word_after == "or" and reader.word(end + 1) == "so" and reader.word(end + 2) in _UNITS:
            stop += 2  # "six or so weeks"
            word_after = reader.word(stop)
        if (word_after == "i" and reader.word(end + 1) == "u") or (
            word_after == "international" and reader.word(end + 1) in ("unit", "units")
        ):
            word_after = "iu"
            stop += 1
        if word_after == "-" and reader.word(end + 1) in _UNITS:
            stop += 1
            word_after = reader.word(stop)
        if word_after in _UNITS:
            unit = word_after
            stop += 1
            if unit in ("f",) and before not in ("temperature", "temp"):
                unit = ""
                stop -= 1
            if unit == "in" or (unit == "time" and reader.word(stop) not in ("a", "per", "an", "each", "every")):
                unit = "" if unit == "in" else unit
            if reader.word(stop) == "/" and reader.word(stop + 1) in ("dl", "l", "ml"):
                stop += 2  # mg/dL: a laboratory value, not a dose
                quantities.append(Quantity(value.low, value.high, "", "concentration", value.start, stop))
                continue
            if reader.word(stop) == "/" and reader.word(stop + 1) in ("day", "kg"):
                stop += 2
            # "a week and a half", "two and a half years"
            if words[stop : stop + 3] == ["and", "a", "half"]:
                quantities.append(
                    Quantity(value.low + 0.5, value.high + 0.5, _UNITS[unit][0], _UNITS[unit][1], value.start, stop + 3)
                )
                continue
        elif word_after == "and" and words[end : end + 3] == ["and", "a", "half"] and reader.word(end + 3) in _UNITS:
            unit = reader.word(end + 3)
            quantities.append(
                Quantity(value.low + 0.5, value.high + 0.5, _UNITS[unit][0], _UNITS[unit][1], value.start, end + 4)
            )
            continue
        if value.small_word and not unit:
            continue
        if unit == "time":
            continue  # "three times" with no period is a count of events, read as a plain number below
        if unit:
            canonical, dimension, _ = _UNITS[unit]
            quantities.append(Quantity(value.low, value.high, canonical, dimension, value.start, stop))
            continue
        if (1900 <= value.low <= 2100 and value.low == int(value.low) and not value.spoken) or (
            value.spoken and 1900 <= value.low <= 2100
        ):
            quantities.append(Quantity(value.low, value.high, "", "year", value.start, stop))
            continue
        if before == "type":
            quantities.append(Quantity(value.low, value.high, "", "type", value.start, stop))
            continue
        if value.spoken and value.low == 1 and value.high == 1 and words[value.start] == "one":
            continue  # a pronoun more often than a count
        quantities.append(Quantity(value.low, value.high, "", "", value.start, stop))
    return quantities


def _frequency(words: Sequence[str], value: _Value, end: int) -> tuple[float, int] | None:
    word = words[value.start] if value.start < len(words) else ""
    if word in ("once", "twice", "thrice"):
        return None  # read by frequency_words below, never through a value
    if end < len(words) and words[end] in ("time", "times", "x") and end + 1 < len(words):
        position = end + 1
        if words[position] in ("a", "per", "an", "each", "every", "/"):
            position += 1
        period = words[position] if position < len(words) else ""
        if period in _PERIOD_WORDS:
            return value.low / _PERIOD_WORDS[period], position + 1
        if period.rstrip("s") in _PERIOD_WORDS:
            return value.low / _PERIOD_WORDS[period.rstrip("s")], position + 1
    return None


def read_frequencies(tokens: Sequence[Token], words: Sequence[str] | None = None) -> list[Quantity]:
    """Frequencies said without a number: "once a day", "twice daily", "BID", "every other day", "nightly"."""
    if words is None:
        words = [token.text for token in tokens]
    found: list[Quantity] = []
    index = 0
    candidates = [
        i
        for i, word in enumerate(words)
        if word in _FREQUENCY_STARTS or (word[:1] == "q" and word[-1:] == "h") or word == "q"
    ]
    for candidate in candidates:
        if candidate < index:
            continue
        index = candidate
        word = words[index]
        count = {"once": 1.0, "twice": 2.0, "thrice": 3.0}.get(word)
        if count is not None:
            position = index + 1
            if position < len(words) and words[position] in ("a", "an", "per", "each", "every"):
                position += 1
            period = words[position] if position < len(words) else ""
            if period in _PERIOD_WORDS:
                per_day = count / _PERIOD_WORDS[period]
                found.append(Quantity(per_day, per_day, "", "frequency", index, position + 1))
                index = position + 1
                continue
            if period in ("daily", "weekly", "monthly", "nightly"):
                per_day = count * _FREQUENCY_WORDS[period]
                found.append(Quantity(per_day, per_day, "", "frequency", index, position + 1))
                index = position + 1
                continue
        if word in ("bid", "tid", "qid", "qhs", "qd") or (
            word in ("daily", "nightly", "weekly", "monthly")
            and (index == 0 or words[index - 1] not in ("once", "twice", "a", "times"))
        ):
            per_day = _FREQUENCY_WORDS[word]
            found.append(Quantity(per_day, per_day, "", "frequency", index, index + 1))
        elif word == "every" and words[index + 1 : index + 3] == ["other", "day"]:
            found.append(Quantity(0.5, 0.5, "", "frequency", index, index + 3))
            index += 3
            continue
        elif (
            word in ("every", "each")
            and index + 1 < len(words)
            and words[index + 1]
            in (
                "day",
                "morning",
                "night",
                "evening",
                "week",
                "month",
            )
        ):
            per_day = 1 / _PERIOD_WORDS[words[index + 1]]
            found.append(Quantity(per_day, per_day, "", "frequency", index, index + 2))
            index += 2
            continue
        elif (
            word in ("a", "per")
            and index + 1 < len(words)
            and words[index + 1] in ("day",)
            and index > 0
            and (words[index - 1] in _UNITS and _UNITS[words[index - 1]][1] in DOSE_DIMENSIONS)
        ):
            found.append(Quantity(1.0, 1.0, "", "frequency", index, index + 2))
        elif _EVERY_HOURS.fullmatch(word):
            hours = int(word[1:-1])
            if hours:
                found.append(Quantity(24 / hours, 24 / hours, "", "frequency", index, index + 1))
        elif word == "q":
            every = _q_hours(words, index)
            if every is not None:
                hours, stop = every
                found.append(Quantity(24 / hours, 24 / hours, "", "frequency", index, stop))
                index = stop
                continue
        index += 1
    return found


_HOUR_WORDS = frozenset({"h", "hr", "hrs", "hour", "hours"})


def _q_hours(words: Sequence[str], index: int) -> tuple[int, int] | None:
    """ "q6h" as a transcript writes it down: "q.6 h.", "q 6 h", "q. 6 hours" — every so many hours, and where
    the words end."""
    position = index + 1
    if position < len(words) and words[position] == ".":
        position += 1
    number = words[position].lstrip(".") if position < len(words) else ""
    if not number.isdigit() or position + 1 >= len(words) or words[position + 1] not in _HOUR_WORDS:
        return None
    hours = int(number)
    return (hours, position + 2) if 0 < hours <= 72 else None


_EVERY_HOURS = re.compile(r"q(\d+)h")


_RATING_CUES = frozenset({"rate", "rating", "scale", "level", "score"})
RATING_CUES = _RATING_CUES


def is_rating(tokens: Sequence[Token]) -> bool:
    """Whether a turn asks for or gives a rating out of ten ("can you rate your pain", "on a scale")."""
    if any(token.stem in _RATING_CUES for token in tokens):
        return True
    words = [token.text for token in tokens]
    return any(word == "out" and words[i + 1 : i + 3] in (["of", "ten"], ["of", "10"]) for i, word in enumerate(words))


def scores_out_of_ten(tokens: Sequence[Token]) -> list[Quantity]:
    """The bare numbers of a rating ("it's like a four", "goes down to a one"), each as a score out of ten.

    Read only where a rating is asked or given: elsewhere "one" is a pronoun and "four" may be anything.
    """
    found: list[Quantity] = []
    words = [token.text for token in tokens]
    for position, word in enumerate(words):
        value = _digits(word)
        if value is None:
            value = float(_UNITS_WORDS[word]) if word in _UNITS_WORDS and word != "oh" else None
        if value is None or not 0 <= value <= 10:
            continue
        following = words[position + 1] if position + 1 < len(words) else ""
        if following in _UNITS or following in ("year", "years", "-", "o'clock", "times"):
            continue
        found.append(Quantity(value, value, "", "ratio", position, position + 1, second=10.0))
    return found


# Doses a drug's everyday name says by itself: "baby aspirin" is aspirin 81 mg.
_IMPLIED_DOSES: dict[tuple[str, ...], tuple[float, str]] = {
    ("baby", "aspirin"): (81.0, "mg"),
    ("low", "dose", "aspirin"): (81.0, "mg"),
    ("low", "-", "dose", "aspirin"): (81.0, "mg"),
}


_IMPLIED_STARTS = frozenset(phrase[0] for phrase in _IMPLIED_DOSES)


def implied_doses(tokens: Sequence[Token], words: Sequence[str] | None = None) -> list[Quantity]:
    """The doses named by a drug's everyday name, placed just before the drug's name."""
    if words is None:
        words = [token.text for token in tokens]
    found: list[Quantity] = []
    if _IMPLIED_STARTS.isdisjoint(words):
        return found
    for position, word in enumerate(words):
        if word not in _IMPLIED_STARTS:
            continue
        for phrase, (amount, unit) in _IMPLIED_DOSES.items():
            if tuple(words[position : position + len(phrase)]) == phrase:
                canonical, dimension, _factor = _UNITS[unit]
                end = position + len(phrase) - 1
                found.append(Quantity(amount, amount, canonical, dimension, position, end))
    return found


def all_quantities(tokens: Sequence[Token], source: str = "", words: Sequence[str] | None = None) -> list[Quantity]:
    """Quantities and the frequencies said in words, ordered by position; ``words``, when given, are the tokens'
    texts."""
    if words is None:
        words = [token.text for token in tokens]
    if not _may_hold_quantities(words, source):
        return []
    frequencies = read_frequencies(tokens, words)
    numbers = read_quantities(tokens, source, words)
    # "q 6 hours", "q. 8 h": the number is the frequency's, not an amount of its own
    taken = [(f.start, f.end) for f in frequencies if words[f.start] == "q"]
    if taken:
        numbers = [n for n in numbers if not any(start <= n.start < end for start, end in taken)]
    quantities = numbers + frequencies + implied_doses(tokens, words)
    quantities.sort(key=lambda quantity: quantity.start)
    return quantities


# Words that start a quantity or a frequency by themselves; "a", "an", "per", "every" and "each" need a word after
# them (see ``_may_hold_quantities``).
_QUANTITY_WORDS = (_STARTS | _FREQUENCY_STARTS | _IMPLIED_STARTS) - {"a", "an", "per", "every", "each"}
_ANY_DIGIT = re.compile(r"\d")
_AFTER_EVERY = frozenset({"day", "morning", "night", "evening", "week", "month", "other"})


def _may_hold_quantities(words: Sequence[str], source: str = "") -> bool:
    """False when a text (its words, and the text itself when given) has no digit, no number word and no
    frequency at all: most turns of a visit. A quick look at its distinct words, before the readers go through it
    word by word."""
    said = set(words)
    if not said.isdisjoint(_QUANTITY_WORDS):
        return True
    if source:
        if _ANY_DIGIT.search(source):
            return True  # a number ("40", ".5") or a name with digits ("b12")
        if ("q" in source or "Q" in source) and any(word[0] == "q" and word[-1] == "h" for word in said):
            return True  # "q6h"
    else:
        for word in said:
            first = word[0]
            if first.isdigit() or (first == "." and len(word) > 1) or (first == "q" and word[-1] == "h"):
                return True
    if ("a" in said or "an" in said) and not said.isdisjoint(_AFTER_ARTICLE):
        return True
    if ("a" in said or "per" in said) and "day" in said:
        return True
    return ("every" in said or "each" in said) and not said.isdisjoint(_AFTER_EVERY)


def same_amount(first: Quantity, second: Quantity) -> bool:
    """Whether two quantities can be the same amount: ranges meet, after converting compatible units.

    Two ranges that were both said must have the same ends; an amount inside a said range meets it.
    """
    if first.is_range and second.is_range:
        return _close(first.low, second.low) and _close(first.high, second.high) and _units_meet(first, second)
    if first.is_range or second.is_range:
        inner, outer = (second, first) if first.is_range else (first, second)
        return outer.low - 1e-9 <= inner.low and inner.high <= outer.high + 1e-9 and _units_meet(first, second)
    if first.dimension == "bp" or second.dimension == "bp" or first.second is not None or second.second is not None:
        return (
            first.second is not None
            and second.second is not None
            and _close(first.low, second.low)
            and _close(first.second, second.second)
        )
    if first.unit and second.unit and first.dimension == second.dimension:
        low1, high1 = first.base_range()
        low2, high2 = second.base_range()
        tolerance = 0.1 if first.dimension == "time" and first.unit != second.unit else 0.001
        return low1 <= high2 * (1 + tolerance) and low2 <= high1 * (1 + tolerance)
    return first.low <= second.high + 1e-9 and second.low <= first.high + 1e-9


def compatible(first: Quantity, second: Quantity) -> bool:
    """Whether two quantities measure the same kind of thing, so that a difference between them means something."""
    if (first.second is None) != (second.second is None):
        return False
    if first.dimension == second.dimension:
        return True
    loose = {"", "year", "type"}
    if first.dimension in loose and second.dimension in loose:
        return True
    if "age" in (first.dimension, second.dimension):
        other = second if first.dimension == "age" else first
        return other.dimension in ("", "time") and (not other.unit or other.unit == "year")
    if first.dimension == "" or second.dimension == "":
        other = second if first.dimension == "" else first
        return other.dimension not in ("frequency",)
    return {first.dimension, second.dimension} == {"concentration", "mass"}


def _units_meet(first: Quantity, second: Quantity) -> bool:
    return not (first.unit and second.unit and first.unit != second.unit)


def _close(first: float, second: float) -> bool:
    return abs(first - second) < 1e-6


def describe(quantity: Quantity, tokens: Sequence[Token], source: str) -> str:
    """The words of a quantity as they stand in the text."""
    if not tokens or quantity.start >= len(tokens):
        return ""
    start = tokens[max(quantity.start, 0)].start
    end = tokens[min(quantity.end, len(tokens)) - 1].end
    return source[start:end]
