"""The faithfulness checker: every statement of a note against the transcript of the visit.

``check_note(transcript, sections)`` returns, per statement, the flags a clinician should look at before signing:

- ``medication``: a drug the note names that nobody said (a brand and its generic are the same drug);
- ``dose`` and ``number``: an amount, frequency, vital, duration, count, age or date the visit gave differently;
- ``laterality``: left, right or both, flipped for the same body part;
- ``negation``: the note affirms what the visit denied, or denies what it affirmed;
- ``unsupported``: a finding or symptom with nothing in the transcript behind it;
- and per note, ``omitted_risk``: suicidal or homicidal ideation, self-harm, abuse or not taking medication,
  affirmed in the visit and absent from the note.

It is deterministic, pure Python and touches no database or network. A note of forty statements against a
ten-minute visit takes about 7 ms of CPU (p50 on the 2-core benchmark VM, docs/performance.md) once the drug lexicon
is loaded (once per process), about half of it reading the transcript; a re-check against a transcript already
read costs the statements' half.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import log
from typing import Any

from notes.content import Flag, FlagKind, SegmentId
from notes.faithfulness.drugs import DrugMention, find_drugs
from notes.faithfulness.findings import FINDING_STEMS, is_clinical
from notes.faithfulness.laterality import (
    BODY_PARTS,
    BOTH,
    REGION_OF,
    SIDE_WORDS,
    SideMention,
    find_sides,
    sides_in_answer,
)
from notes.faithfulness.negation import Polarity, answer_kind, text_polarities
from notes.faithfulness.note import NoteSection, NoteStatement, split_note
from notes.faithfulness.numbers import (
    MONTHS,
    RATING_CUES,
    Quantity,
    all_quantities,
    compatible,
    describe,
    is_rating,
    same_amount,
    scores_out_of_ten,
)
from notes.faithfulness.risk import omitted_risks
from notes.faithfulness.text import (
    BOILERPLATE,
    STOPWORDS,
    SYNONYMS,
    Token,
    sentence_spans,
    stem,
    tokenize,
    word_list,
)
from notes.faithfulness.transcript import (
    Occurrence,
    SegmentLike,
    TranscriptIndex,
    as_segments,
    collector_paused,
)

_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(?:(\d{1,2})/)?(\d{4}|\d{2})(?![\d/])")
_MONTH_NUMBERS = {month: number for number, month in enumerate(MONTHS, start=1)}
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNIT_WORDS = frozenset(
    [
        *("mg", "mcg", "g", "ml", "cc", "milligram", "milligrams", "units", "unit", "iu", "percent", "daily"),
        *("day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours", "time", "times"),
    ]
)


# The kinds the checker raises (``edited`` is the note editor's): per statement, then per note.
CHECKED_KINDS = (
    FlagKind.MEDICATION,
    FlagKind.DOSE,
    FlagKind.NUMBER,
    FlagKind.LATERALITY,
    FlagKind.NEGATION,
    FlagKind.UNSUPPORTED,
    FlagKind.OMITTED_RISK,
)


@dataclass(frozen=True, slots=True)
class StatementCheck:
    section: str  # the section's key
    heading: str
    text: str
    evidence: tuple[SegmentId, ...]  # as cited, or the segments that best match when none were cited
    flags: tuple[Flag, ...]


@dataclass(frozen=True, slots=True)
class NoteCheck:
    statements: tuple[StatementCheck, ...]
    note_flags: tuple[Flag, ...] = ()  # flags about the note as a whole (omitted_risk)

    @property
    def flags(self) -> list[Flag]:
        return [flag for statement in self.statements for flag in statement.flags] + list(self.note_flags)


# A section as the caller has it: a NoteSection, a mapping {"key", "heading", "statements": [...]} (statements
# as text or {"text", "evidence"}), or a (key, heading, statements) tuple.
SectionInput = NoteSection | Mapping[str, Any] | tuple[str, str, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class _Item:
    key: str  # the finding's stem or concept
    context: tuple[str, ...]  # the statement's words next to it ("knee", "exercise")
    polarity: Polarity
    text: str  # as written in the note
    complaint: bool = False  # a body system named with a vague complaint: "urinary issues"
    label: tuple[str, ...] = ()  # the words of a leading label ("Cervical spine exam:"), a weaker context


# Words that never say where or when a finding is.
_NOT_CONTEXT = frozenset(
    {
        "no",
        "not",
        "any",
        "denies",
        "denied",
        "negative",
        "positive",
        "without",
        "reports",
        "left",
        "right",
        "bilateral",
        "both",
        "some",
        "mild",
        "severe",
        "moderate",
        "also",
        "present",
        "absent",
        "noted",
    }
)
# Abnormal findings of an organ the visit may call normal: "your lungs are clear" denies wheezes.
_ORGAN_OF_FINDING = {
    **dict.fromkeys(("wheez", "crackles", "rhonchi", "stridor"), "lung"),
    **dict.fromkeys(("murmur", "gallop", "rub"), "heart"),
}
# Body systems a note names with a vague complaint ("urinary issues"), and those complaint words.
_SYSTEMS = frozenset(
    {
        "urin",
        "vision",
        "eye",
        "sleep",
        "bowel",
        "abdomen",
        "appetite",
        "hear",
        "hearing",
        "memory",
        "bladder",
        "stool",
        "gastrointestinal",
        "bleed",
        "balance",
        "mood",
        "breath",
        "dyspnea",
        "swallow",
        "dysphagia",
        "walk",
        "migrain",
        "stone",
        "heartburn",
        "asthma",
        "seizur",
    }
)
_VAGUE_COMPLAINTS = frozenset(
    stem(word)
    for word in (
        "issue",
        "problem",
        "symptom",
        "concern",
        "change",
        "complaint",
        "trouble",
        "difficulty",
        "disturbance",
        "flare",
    )
)
# A finding a visit says in other words: tenderness is "does it hurt when i press".
_SAID_AS = {"tender": ("pain",), "pain": ("tender",)}
_SIDES = frozenset({"left", "right"})
# Findings that are always somewhere: which one a statement means depends on the place it names.
_LOCAL_FINDINGS = frozenset(
    stem(word)
    for word in word_list(
        """
        pain tender edema numb tingl weak rash erythema bruis stiff cramp warm effusion fracture bleed itch
        lesion mass swell injury deformity crepitus instability laceration abrasion ulcer lump nodule discharge
        drainage spasm atrophy wound scar hematoma hernia pop redness induration fluctuance
        """
    )
)
# Parts of the body a finding is said of; a general one ("joint", "muscle") is about any of them.
_PLACES = (
    BODY_PARTS
    | frozenset(
        stem(word)
        for word in word_list(
            """
        abdomen back head throat scalp face pelvis rectum bladder bowel skin joint joints muscle muscles spine
        belly stomach tummy tooth teeth gum gums mouth tongue nose sinus sinuses hair nail nails
        """
        )
    )
    | {"abdomen", "throat", "nasal"}
)
_GENERIC_PLACES = frozenset(
    stem(word) for word in ("joint", "joints", "muscle", "muscles", "body", "side", "upper", "lower")
)
# Places a label names that cover the whole body ("Skin: redness" is the review of the skin, not of a place).
_WHOLE_BODY_PLACES = _GENERIC_PLACES | {stem("skin")}
# Place words too general to tell where a finding is ("upper", "side", "skin", "area").
_NOT_A_PLACE = _WHOLE_BODY_PLACES | {stem("area")}
# The types diseases are usually named with ("type 1 diabetes", "type 2 diabetes").
_USUAL_TYPES = frozenset({1.0, 2.0})
_ORDINALS = frozenset({"first", "second", "third", "fourth", "fifth", "next", "last", "final", "other", "main"})
_HISTORY_WORDS = frozenset({"ever", "history", "previously"})
# A turn longer than this many tokens explains or examines: a mention in it is an aside unless a question of it was
# answered or it is in the turn's first words (a reply to the turn before). Chosen on train.csv: 20 finds the most
# flips there for one reference statement more flagged; 40 and 60 find fewer.
_DIRECT_TURN = 20
_REPLY_REACH = 12
# How far from a mention a word of the statement's context still says what the mention is about.
_NEAR = 15
_HISTORY_STATEMENT_WORDS = _HISTORY_WORDS | {"prior", "previous", "before"}
_CONTEXT_BREAKS = frozenset({".", ";", ":", "?", "!", "but", "however", "although", "whereas", "except"})
_CLAUSE_BREAKS = frozenset({"but", "however", "although", "whereas", ".", ";", "?", "!"})
# Words that say when, which tell one mention of a finding from another ("in the past six months").
_WHEN = frozenset({"month", "week", "year", "day", "past", "recent", "recently", "yesterday", "night", "morning"})
# Words that say a finding is about somewhere else than the statement's.
_OPPOSITE = {
    "left": "right",
    "right": "left",
    "medial": "lateral",
    "lateral": "medial",
    "upper": "lower",
    "lower": "upper",
    "proximal": "distal",
    "distal": "proximal",
    "anterior": "posterior",
    "posterior": "anterior",
}
_NORMAL_WORDS = frozenset({"normal", "clear", "fine", "good", "unremarkable", "regular", "great"})


@dataclass(slots=True)
class _Statement:
    text: str
    tokens: list[Token]
    polarities: list[Polarity]
    quantities: list[Quantity]
    drugs: list[DrugMention]
    sides: list[SideMention]
    cited: list[int]  # turn indices
    aligned: list[int] = field(default_factory=list)  # turn indices, best first
    stems: frozenset[str] = frozenset()  # the words that say what the statement is about
    items: list[_Item] | None = None  # the findings it affirms or denies, read once


def check_note(
    transcript: Sequence[SegmentLike | Mapping[str, Any]] | TranscriptIndex,
    sections: Iterable[SectionInput],
) -> NoteCheck:
    """Check every statement of ``sections`` against ``transcript`` (segments with id, speaker and text)."""
    with collector_paused():
        return _check_note(transcript, sections)


def _check_note(
    transcript: Sequence[SegmentLike | Mapping[str, Any]] | TranscriptIndex,
    sections: Iterable[SectionInput],
) -> NoteCheck:
    index = transcript if isinstance(transcript, TranscriptIndex) else TranscriptIndex.build(as_segments(transcript))
    context = _Context.build(index)
    checks: list[StatementCheck] = []
    note_texts: list[str] = []
    prepared_sections = [(section, [context.prepare(s) for s in section.statements]) for section in _sections(sections)]
    context.note_drugs = {m.canonical for _s, prepared in prepared_sections for p in prepared for m in p.drugs}
    for section, statements in prepared_sections:
        for prepared in statements:
            note_texts.append(prepared.text)
            flags = _dedupe(context.check(prepared))
            evidence = tuple(index.turns[turn].segment.id for turn in (prepared.cited or prepared.aligned[:3]))
            checks.append(StatementCheck(section.key, section.heading, prepared.text, evidence, tuple(flags)))
    note_flags = tuple(
        Flag(
            FlagKind.OMITTED_RISK,
            f"In the visit, {risk.label}; the note does not mention it.",
            risk.evidence,
            risk.said,
        )
        for risk in omitted_risks(index, "\n".join(note_texts))
    )
    return NoteCheck(tuple(checks), note_flags)


def check_note_text(transcript: Sequence[SegmentLike | Mapping[str, Any]] | TranscriptIndex, note: str) -> NoteCheck:
    """Check a note given as plain text with headings."""
    return check_note(transcript, split_note(note))


def _sections(sections: Iterable[SectionInput]) -> Iterable[NoteSection]:
    for section in sections:
        if isinstance(section, NoteSection):
            yield section
            continue
        if isinstance(section, Mapping):
            key = str(section.get("key", ""))
            heading = str(section.get("heading", key))
            raw_statements: Sequence[Any] = section.get("statements") or []
            if not raw_statements and section.get("text"):
                raw_statements = [s.text for part in split_note(str(section["text"])) for s in part.statements]
        else:
            key, heading, raw_statements = section
        statements = []
        for item in raw_statements:
            if isinstance(item, NoteStatement):
                statements.append(item)
            elif isinstance(item, str):
                statements.append(NoteStatement(item))
            elif isinstance(item, Mapping):
                statements.append(NoteStatement(str(item.get("text", "")), tuple(item.get("evidence") or ())))
            else:
                text, evidence = item
                statements.append(NoteStatement(str(text), tuple(evidence)))
        yield NoteSection(key=key, heading=heading, statements=statements)


def _dedupe(flags: Iterable[Flag]) -> list[Flag]:
    seen: set[tuple[str, str]] = set()
    out: list[Flag] = []
    for flag in flags:
        if (flag.kind, flag.message) not in seen:
            seen.add((flag.kind, flag.message))
            out.append(flag)
    return out


def _quote(text: str) -> str:
    # Closing punctuation stays out: the message's own sentence ends after the quote.
    return "“" + " ".join(text.split()).rstrip(" .,;:") + "”"


@dataclass(slots=True)
class _Context:
    index: TranscriptIndex
    sides: list[tuple[int, SideMention]]
    quantities: list[tuple[int, Quantity]]
    words: frozenset[str]
    segment_ids: dict[str, int]
    note_drugs: set[str] = field(default_factory=set)
    prefixes: frozenset[str] = frozenset()  # the first four and five letters of every word said
    months: frozenset[int] = frozenset()  # months named in the visit, 1-12
    digit_dates: frozenset[tuple[int, int]] = frozenset()  # (month, year) of dates said as digits
    numbers: frozenset[float] = frozenset()  # every amount said, for dates
    positions: dict[str, dict[int, list[int]]] = field(default_factory=dict)  # see _positions
    clause_breaks: dict[int, list[int]] = field(default_factory=dict)  # see _breaks
    answers: dict[int, bool] = field(default_factory=dict)  # see _answers
    elsewhere: dict[tuple[Occurrence, tuple[str, ...]], bool] = field(default_factory=dict)  # see _elsewhere
    # where the visit says each finding, by the finding and the words around it in the note (see _occurrences)
    item_occurrences: dict[tuple[str, bool, tuple[str, ...], tuple[str, ...]], list[Occurrence]] = field(
        default_factory=dict
    )
    history_sentences: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)  # see _historical
    families: dict[str, str] | None = None  # the visit's stems by their first five letters, see _as_said

    @classmethod
    def build(cls, index: TranscriptIndex) -> _Context:
        sides: list[tuple[int, SideMention]] = []
        quantities: list[tuple[int, Quantity]] = []
        said: set[str] = set()  # every token said, once
        ratings = [
            not turn.stems.isdisjoint(RATING_CUES) or ("out" in turn.word_set and is_rating(turn.tokens))
            for turn in index.turns
        ]
        previous_turn = None
        for position, turn in enumerate(index.turns):
            if not turn.word_set.isdisjoint(SIDE_WORDS):
                sides.extend((position, mention) for mention in find_sides(turn.tokens))
                if previous_turn is not None and previous_turn.segment.speaker != turn.segment.speaker:
                    sides.extend((position, mention) for mention in sides_in_answer(previous_turn.tokens, turn.tokens))
            quantities.extend((position, quantity) for quantity in turn.quantities)
            if ratings[position] or (position > 0 and ratings[position - 1]):
                # "rate your pain?" — "like a four": the note writes 4/10
                quantities.extend((position, score) for score in scores_out_of_ten(turn.tokens))
            said.update(turn.word_set)
            previous_turn = turn
        words = {word for word in said if word[:1].isalpha() or word.startswith("n'")}
        segment_ids = {str(turn.segment.id): position for position, turn in enumerate(index.turns)}
        months = frozenset(_MONTH_NUMBERS[word] for word in words & _MONTH_NUMBERS.keys())
        # Dates said as digits ("date of birth 08/01/1980") say their month only with their year.
        digit_dates = frozenset(
            (int(match.group(1)), _full_year(match.group(3)))
            for turn in index.turns
            if "/" in turn.word_set
            for match in _DATE.finditer(turn.segment.text)
        )
        numbers = frozenset(q.low for _turn, q in quantities) | frozenset(
            float(word) for word in said if word[:1].isdigit() and _PLAIN_NUMBER.fullmatch(word)
        )
        every = words | index.by_stem.keys()
        prefixes = frozenset(
            {word[:4] for word in every if len(word) >= 4} | {word[:5] for word in every if len(word) >= 5}
        )
        return cls(
            index,
            sides,
            quantities,
            frozenset(words),
            segment_ids,
            prefixes=prefixes,
            months=months,
            digit_dates=digit_dates,
            numbers=numbers,
        )

    # -- preparation -------------------------------------------------------------------------------------------

    def prepare(self, statement: NoteStatement) -> _Statement:
        tokens = tokenize(statement.text)
        cited = [self.segment_ids[str(i)] for i in statement.evidence if str(i) in self.segment_ids]
        prepared = _Statement(
            text=statement.text,
            tokens=tokens,
            polarities=text_polarities(tokens),
            quantities=all_quantities(tokens, statement.text),
            drugs=find_drugs(tokens, statement.text),
            sides=find_sides(tokens),
            cited=cited,
        )
        prepared.aligned = self._align(tokens)
        prepared.stems = frozenset(
            t.stem
            for t in tokens
            if t.is_word and t.text not in STOPWORDS and t.stem not in BOILERPLATE and t.text not in _UNIT_WORDS
        )
        return prepared

    def _idf(self, stem_: str) -> float:
        frequency = self.index.document_frequency.get(stem_, 0)
        return log((1 + len(self.index.turns)) / (1 + frequency)) + 1.0

    def _align(self, tokens: Sequence[Token]) -> list[int]:
        """Turns that share the most (rare) words with a statement, best first."""
        scores: dict[int, float] = {}
        # in the order written, so that equal scores add up the same way in every process
        stems = dict.fromkeys(
            t.stem for t in tokens if t.is_word and t.text not in STOPWORDS and t.stem not in BOILERPLATE
        )
        for stem_ in stems:
            turns = self._positions(stem_)  # the turns that say it, in order
            if not turns:
                continue
            weight = self._idf(stem_)
            for turn in turns:
                scores[turn] = scores.get(turn, 0.0) + weight
        ranked = sorted(scores, key=lambda turn: (-scores[turn], turn))
        return ranked[:5]

    # -- checks ------------------------------------------------------------------------------------------------

    def check(self, statement: _Statement) -> list[Flag]:
        flags: list[Flag] = []
        flags.extend(self._medications(statement))
        flags.extend(self._numbers(statement))
        flags.extend(self._dates(statement))
        flags.extend(self._laterality(statement))
        negations = self._negations(statement)
        flags.extend(negations)
        if not negations:  # a finding the visit contradicts is not also "unsupported"
            flags.extend(self._unsupported(statement) or self._only_asked(statement))
        return flags

    def _near(self, statement: _Statement) -> list[int]:
        return statement.cited or statement.aligned

    # medication ---------------------------------------------------------------------------------------------

    def _medications(self, statement: _Statement) -> list[Flag]:
        flags: list[Flag] = []
        named = {mention.canonical for mention in statement.drugs}
        for mention in statement.drugs:
            if mention.canonical in self.index.drugs or self._misheard(mention.text):
                continue
            written = self._with_dose(statement.tokens, statement.text, statement.quantities, mention)
            said, evidence = self._said_instead(statement, named)
            if said:
                message = f"The note says {written}; the transcript says {said}."
            else:
                message = f"The note names {mention.text}, which nobody says in the transcript."
            flags.append(Flag(FlagKind.MEDICATION, message, tuple(evidence), said, written=written if said else ""))
        return flags

    def _misheard(self, name: str) -> bool:
        """A drug name the speech-to-text spelled its own way ("lysinopril"), never another real drug."""
        name = name.lower()
        if " " in name or len(name) < 5:
            return False
        for word in self.words:
            if abs(len(word) - len(name)) > 2 or word[:1] != name[:1]:
                continue
            if difflib.SequenceMatcher(None, word, name).ratio() >= 0.85 and not find_drugs(tokenize(word)):
                return True
        return False

    def _with_dose(self, tokens: Sequence[Token], text: str, quantities: Sequence[Quantity], mention: Any) -> str:
        for quantity in quantities:
            if quantity.is_dose and 0 <= quantity.start - mention.end <= 3:
                return text[tokens[mention.start].start : tokens[quantity.end - 1].end]
        return str(mention.text)

    def _said_instead(self, statement: _Statement, named: set[str]) -> tuple[str, list[SegmentId]]:
        """A drug said near what the statement talks about and named nowhere in the note: what it likely meant.

        In a turn the statement cites, a drug the note names elsewhere also counts ("limit ibuprofen" in the plan
        does not make "taking ibuprofen 400 milligrams", cited for "taking naproxen 500 mg", something else).
        """
        for turn_index in self._near(statement)[:3]:
            turn = self.index.turns[turn_index]
            for mention in turn.drugs:
                if mention.canonical in named or mention.canonical in self.note_drugs:
                    continue
                said = self._with_dose(turn.tokens, turn.segment.text, turn.quantities, mention)
                return said, [turn.segment.id]
        for turn_index in statement.cited:
            turn = self.index.turns[turn_index]
            for mention in turn.drugs:
                if mention.canonical not in named:
                    said = self._with_dose(turn.tokens, turn.segment.text, turn.quantities, mention)
                    return said, [turn.segment.id]
        return "", [self.index.turns[t].segment.id for t in self._near(statement)[:1]]

    # dose and number ----------------------------------------------------------------------------------------

    def _numbers(self, statement: _Statement) -> list[Flag]:
        flags: list[Flag] = []
        for quantity in statement.quantities:
            if quantity.is_vague:
                continue
            flag = self._check_range(statement, quantity) if quantity.is_range else None
            flag = flag or self._check_quantity(statement, quantity)
            if flag is not None:
                flags.append(flag)
        return flags

    def _check_range(self, statement: _Statement, quantity: Quantity) -> Flag | None:
        """A range the note writes ("3 to 5 pounds") needs both its ends said: one number said inside it ("3
        pounds") does not back its other end. A range said with the same ends backs it whole."""
        if any(said.is_range and _same_ends(quantity, said) for _turn, said in self.quantities):
            return None
        for end in (quantity.low, quantity.high):
            single = dataclasses.replace(quantity, low=end, high=end, is_range=False)
            # An end is backed by a number said, or by an end of a range said: "20 to 30 miles" backs neither "20
            # to 23" nor "25 to 30", though each meets it.
            backed = any(
                not said.is_vague
                and compatible(single, said)
                and (
                    any(same_amount(single, said_end) for said_end in _ends(said))
                    if said.is_range
                    else same_amount(single, said)
                )
                and self._in_context(statement, turn, said)
                for turn, said in self.quantities
            )
            if not backed:
                flag = self._check_quantity(statement, single)
                if flag is not None:
                    return flag
                # Said only inside a range about the same thing ("20 to 30 miles" for a note's "20 to 23"): that
                # range is what was said.
                inside = [
                    (turn, said)
                    for turn, said in self.quantities
                    if said.is_range
                    and compatible(single, said)
                    and same_amount(single, said)
                    and self._in_context(statement, turn, said)
                ]
                if inside:
                    turn, said = inside[0]
                    kind = FlagKind.DOSE if quantity.is_dose else FlagKind.NUMBER
                    written = describe(quantity, statement.tokens, statement.text)
                    return self._quantity_flag(kind, statement, written, turn, said, "")
                return None
        return None

    def _drug_before(self, statement: _Statement, quantity: Quantity) -> DrugMention | None:
        """The drug an amount belongs to: "lisinopril 40 mg", "40 mg of lisinopril"."""
        after = [m for m in statement.drugs if m.start >= quantity.end and m.start - quantity.end <= 2]
        if after and statement.tokens[quantity.end].text == "of":
            return after[0]
        before = [m for m in statement.drugs if m.end <= quantity.start and quantity.start - m.end <= 8]
        if before:
            return before[-1]
        if after:
            return after[0]
        if len({m.canonical for m in statement.drugs}) == 1 and quantity.dimension == "frequency":
            return statement.drugs[0]
        return None

    def _check_quantity(self, statement: _Statement, quantity: Quantity) -> Flag | None:
        if (
            quantity.dimension == "type"
            and quantity.low == quantity.high
            and quantity.low in _USUAL_TYPES
            and not any(said.dimension == "type" for _turn, said in self.quantities)
        ):
            # "type 2 diabetes" is the disease's name, which a visit often shortens to "diabetes": only a visit
            # that says a type contradicts it. A type no such disease has ("type 5 diabetes") is still flagged.
            return None
        written = describe(quantity, statement.tokens, statement.text)
        candidates = [(turn, said) for turn, said in self.quantities if compatible(quantity, said)]
        said_anywhere = [(turn, said) for turn, said in candidates if same_amount(quantity, said)]
        # The same number said about something else does not support it: "4 weeks" of rest is not backed by
        # "see you in four weeks" unless that is what the statement is about.
        matches = [match for match in said_anywhere if self._in_context(statement, *match)]
        if said_anywhere and not matches and (quantity.dimension not in ("", "year", "type") or quantity.low >= 10):
            # A number with a unit said only elsewhere still stands, unless what the statement is about was
            # given another value (checked below against the numbers said next to the statement's words).
            contradicted = [
                c for c in candidates if self._in_context(statement, *c) and c[1].dimension == quantity.dimension
            ]
            if not contradicted:
                matches = said_anywhere
        drug = self._drug_before(statement, quantity)
        kind = (
            FlagKind.DOSE
            if quantity.is_dose or (drug is not None and quantity.dimension == "frequency")
            else (FlagKind.NUMBER)
        )
        if drug is not None and drug.canonical not in self.index.drugs and not self._misheard(drug.text):
            return None  # the drug itself is flagged, with the dose that was said
        if drug is not None:
            anchored = self._quantities_near_drug(drug.canonical, quantity)
            if not anchored and matches:
                other = self._dose_of_another_drug(drug.canonical, quantity, matches)
                if other is not None:
                    turn, said_drug, said = other
                    source = self.index.turns[turn]
                    words = source.segment.text[source.tokens[said_drug.start].start : source.tokens[said.end - 1].end]
                    note_words = self._with_dose(statement.tokens, statement.text, statement.quantities, drug)
                    return Flag(
                        FlagKind.MEDICATION,
                        f"The note says {note_words}; the transcript says {words}.",
                        (source.segment.id,),
                        words,
                        written=note_words,
                    )
            if anchored:
                if any(same_amount(quantity, said) for _turn, said in anchored):
                    return None
                drug_turns = {occurrence.turn for occurrence in self.index.drugs.get(drug.canonical, [])}
                if any(abs(turn - other) <= 2 for turn, _said in matches for other in drug_turns):
                    return None
                turn, said = anchored[0]
                return self._quantity_flag(kind, statement, written, turn, said, drug.text)
        if matches:
            if quantity.dimension == "age":
                return None
            anchored = self._quantities_near_words(statement, quantity)
            if not anchored or any(same_amount(quantity, said) for _turn, said in anchored):
                return None
            # The number said in a turn the statement rests on stands, unless that turn gives another number
            # next to the statement's own words ("within about a month ... come back in six weeks" for a note's
            # "follow up in 4 weeks").
            closest = set(statement.cited or self._near(statement)[:1]) - {turn for turn, _said in anchored}
            if any(turn in closest for turn, _said in matches):
                return None
            turn, said = anchored[0]
            return self._quantity_flag(kind, statement, written, turn, said, "")
        if quantity.dimension == "age" and self._age_from_birth_year(quantity):
            return None
        if quantity.dimension in ("", "year", "type") and quantity.high < 2 and quantity.unit == "":
            return None  # a lone "1" or "0" is too often a list number or an article
        anchored = self._quantities_near_words(statement, quantity)
        if anchored:
            turn, said = anchored[0]
            return self._quantity_flag(kind, statement, written, turn, said, "")
        near = self._near(statement)
        evidence = tuple(self.index.turns[t].segment.id for t in near[:1])
        if said_anywhere:
            turn = said_anywhere[0][0]
            return Flag(
                kind,
                f"The note says {written}; the transcript gives that number only about something else.",
                (self.index.turns[turn].segment.id,),
                "",
            )
        if quantity.dimension == "frequency":
            subject = f"{drug.text} " if drug is not None else ""
            return Flag(kind, f"The note says {subject}{written}; the transcript never says that often.", evidence, "")
        return Flag(kind, f"The note says {written}; the transcript never gives that number.", evidence, "")

    def _dates(self, statement: _Statement) -> list[Flag]:
        """Dates written 10/10/2020, 04/2021 or 04/10: the month and day must have been said.

        A visit names the month ("back in April") and rarely the year, which a note takes from when the visit
        took place; so a year the visit never says is flagged only with a month or day it never says either.
        "4/10" with a one-digit month is a score out of ten, read with the other numbers.
        """
        flags: list[Flag] = []
        if "/" not in statement.text:
            return flags
        for match in _DATE.finditer(statement.text):
            first, middle, last = match.group(1), match.group(2), match.group(3)
            if middle is None and len(last) == 2:
                if len(first) < 2:
                    continue  # "4/10", "2/10": a score
                month, day, year = int(first), last, None
            else:
                month, day, year = int(first), middle, last
            missing = []
            full_year = _full_year(year) if year is not None else None
            said_as_digits = any(m == month and (full_year is None or y == full_year) for m, y in self.digit_dates)
            if not 1 <= month <= 12 or not (month in self.months or said_as_digits):
                missing.append(MONTHS[month - 1].capitalize() if 1 <= month <= 12 else f"month {month}")
            if day is not None and int(day) not in self.numbers:
                missing.append(f"day {int(day)}")
            if missing and full_year is not None and full_year not in self.numbers:
                missing.append(str(full_year))
            if missing:
                evidence = tuple(self.index.turns[t].segment.id for t in self._near(statement)[:1])
                flags.append(
                    Flag(
                        FlagKind.NUMBER,
                        f"The note says {match.group(0)}; the transcript never says {' or '.join(missing)}.",
                        evidence,
                        "",
                    )
                )
        return flags

    def _in_context(self, statement: _Statement, turn: int, said: Quantity) -> bool:
        """Whether a number said in the visit is about what the statement is about."""
        if said.dimension == "age" or turn in statement.cited or turn in statement.aligned:
            return True
        tokens = self.index.turns[turn].tokens
        window = tokens[max(said.start - 8, 0) : said.end + 8]
        return any(token.stem in statement.stems for token in window if token.is_word)

    def _quantity_flag(
        self, kind: FlagKind, statement: _Statement, written: str, turn: int, said: Quantity, subject: str
    ) -> Flag:
        source = self.index.turns[turn]
        said_text = describe(said, source.tokens, source.segment.text)
        about = f" for {subject}" if subject else ""
        return Flag(
            kind,
            f"The note says {written}{about}; the transcript says {said_text}.",
            (source.segment.id,),
            said_text,
            written=written,
        )

    def _dose_of_another_drug(
        self, canonical: str, quantity: Quantity, matches: list[tuple[int, Quantity]]
    ) -> tuple[int, DrugMention, Quantity] | None:
        """When a note's dose was said only for another drug: "Tylenol 15 mg" where "meloxicam fifteen mg" was."""
        if not quantity.is_dose:
            return None
        found = None
        for turn_index, said in matches:
            owner = None
            for mention in self.index.turns[turn_index].drugs:
                if 0 <= said.start - mention.end <= 4:
                    owner = mention
            if owner is None or owner.canonical == canonical:
                return None
            found = found or (turn_index, owner, said)
        return found

    def _quantities_near_drug(self, canonical: str, quantity: Quantity) -> list[tuple[int, Quantity]]:
        """Amounts said right after (or just before) a drug's name, of the same kind as ``quantity``."""
        found: list[tuple[int, Quantity]] = []
        for occurrence in self.index.drugs.get(canonical, []):
            turn = self.index.turns[occurrence.turn]
            for said in turn.quantities:
                if not compatible(quantity, said) or said.is_vague:
                    continue
                if quantity.dimension != said.dimension and not (quantity.dimension == "" or said.dimension == ""):
                    continue
                if said.dimension == "" and quantity.dimension != "":
                    continue
                if 0 <= said.start - occurrence.position <= 10 or 0 <= occurrence.position - said.end <= 3:
                    found.append((occurrence.turn, said))
        return found

    def _quantities_near_words(self, statement: _Statement, quantity: Quantity) -> list[tuple[int, Quantity]]:
        """Amounts of the same unit said next to the word the note puts next to ``quantity``."""
        anchors = []
        for token in reversed(statement.tokens[max(quantity.start - 4, 0) : quantity.start]):
            if token.is_word and token.text not in STOPWORDS and token.stem not in BOILERPLATE:
                anchors.append(token.stem)
                break
        for token in statement.tokens[quantity.end : quantity.end + 3]:
            if token.is_word and token.text not in STOPWORDS and token.stem not in BOILERPLATE:
                anchors.append(token.stem)
                break
        if not anchors or quantity.dimension in ("", "year", "type"):
            return []
        found: list[tuple[int, Quantity]] = []
        for anchor in anchors:
            for occurrence in self.index.by_stem.get(anchor, []):
                turn = self.index.turns[occurrence.turn]
                for said in turn.quantities:
                    if said.dimension != quantity.dimension or said.is_vague:
                        continue
                    convertible = quantity.dimension in ("time", "mass", "weight")
                    if quantity.unit and said.unit and not convertible and said.unit != quantity.unit:
                        continue
                    if abs(said.start - occurrence.position) <= 6 and (occurrence.turn, said) not in found:
                        found.append((occurrence.turn, said))
        return found

    def _age_from_birth_year(self, quantity: Quantity) -> bool:
        """An age the note worked out from a year of birth said in the visit.

        The age puts the visit in the year of birth plus the age (or one after, before the birthday): not in the
        future, and not before a later year the visit speaks of ("my heart attack in 2018").
        """
        if any(said.dimension == "age" for _turn, said in self.quantities):
            return False
        this_year = datetime.datetime.now(tz=datetime.UTC).year
        years = sorted(
            {
                int(said.low)
                for _turn, said in self.quantities
                if said.dimension == "year" and 1900 <= said.low <= this_year
            }
        )
        for birth in years:
            later = [year for year in years if year > birth]
            earliest_visit = max(later) if later else birth
            if earliest_visit - 1 <= birth + quantity.low <= this_year:
                return True
        return False

    # laterality ---------------------------------------------------------------------------------------------

    def _laterality(self, statement: _Statement) -> list[Flag]:
        flags: list[Flag] = []
        for mention in statement.sides:
            mostly = ""  # how often each side is said, when that is what decides
            said = [(turn, other) for turn, other in self.sides if other.part == mention.part]
            region = REGION_OF.get(mention.part)
            neighbours = False
            if not said and region is not None:
                # No side said for the part itself: one said for its neighbour ("my right ankle" for a note's
                # "right foot", "the right side" for "right flank") counts when it is about the same thing.
                said = [(turn, other) for turn, other in self.sides if REGION_OF.get(other.part) == region]
                neighbours = mention.part in self.index.by_stem
                if neighbours and mention.side == BOTH:
                    continue  # one side of a neighbour says nothing against both sides of the part
            if not said:
                continue
            sides_said = {other.side for _turn, other in said}
            if mention.side == BOTH and {"left", "right"} <= sides_said:
                continue
            if mention.side != BOTH and BOTH in sides_said and mention.side not in sides_said:
                continue  # one knee of two that hurt: the note narrows, it does not flip
            same = [(turn, other) for turn, other in said if other.side == mention.side]
            opposite = [(turn, other) for turn, other in said if other.side != mention.side]
            if same or neighbours:
                # Both sides come up in the visit ("the right knee is swollen, the left looks fine"): the side
                # said about what this statement describes decides.
                context = statement.stems - {mention.part, "left", "right", "both", "bilateral", "bilaterally"}
                scores = self._side_scores(context, same + opposite, self._polarity_of_words(statement))
                best_same = max(scores[: len(same)], default=0)
                scored = list(zip(scores[len(same) :], opposite, strict=True))
                best_opposite = max((score for score, _said in scored), default=0)
                if not scored:
                    continue
                if best_opposite <= max(best_same, 1 if neighbours else 0):
                    # Nothing said near either side tells them apart: the side the visit keeps coming back to
                    # ("my right leg", "right leg pain, right leg pain?" after one slip of "left") decides.
                    same_turns = {turn for turn, _o in same}
                    opposite_turns = {turn for turn, _o in opposite}
                    if (
                        neighbours
                        or best_opposite < best_same
                        or not (
                            len(opposite_turns) >= 2 * len(same_turns) and len(opposite_turns) - len(same_turns) >= 2
                        )
                    ):
                        continue
                    mostly = f" in {len(opposite_turns)} turns, and the {mention.side} in {len(same_turns)}"
                _score, (turn, other) = max(scored, key=lambda item: item[0])
                said = [(turn, other)]
            else:
                turn, other = said[0]
            words = self.index.words(Occurrence(turn, max(other.position, 0)), 0, 4) if other.position >= 0 else ""
            part = statement.tokens[mention.part_position].text
            written = f"{statement.tokens[mention.position].text} {part}"
            first, last = sorted((mention.position, mention.part_position))
            # The side and its body part as the note writes them ("right lower extremity"), for a fix.
            span = statement.text[statement.tokens[first].start : statement.tokens[last].end]
            said_side = "both sides" if other.side == BOTH else f"the {other.side}"
            flags.append(
                Flag(
                    FlagKind.LATERALITY,
                    f"The note says {written}; the transcript says {said_side}{mostly}: {_quote(words)}.",
                    tuple(sorted({self.index.turns[t].segment.id for t, _o in said}, key=str)),
                    other.side if other.side != BOTH else "bilateral",
                    written=span if mention.position < mention.part_position else "",
                )
            )
        return flags

    def _polarity_of_words(self, statement: _Statement) -> dict[str, Polarity]:
        """The polarity a statement gives each finding it names ("pain" affirmed in "left knee pain")."""
        return {
            token.stem: polarity
            for token, polarity in zip(statement.tokens, statement.polarities, strict=True)
            if token.is_word and is_clinical(token.stem)
        }

    def _side_scores(
        self, context: frozenset[str], said: list[tuple[int, SideMention]], polarity: dict[str, Polarity]
    ) -> list[int]:
        """For each side said, how many of a statement's words are said closer to it than to another side.

        A finding counts only when the visit says it the way the statement does: "left knee pain" is backed by
        "my left knee hurts", not by "does your left knee hurt?" nor "my left knee doesn't hurt".
        """
        scores = [0] * len(said)
        by_turn: dict[int, list[int]] = {}
        for number, (turn, _mention) in enumerate(said):
            by_turn.setdefault(turn, []).append(number)
        for turn, numbers in by_turn.items():
            tokens = self.index.turns[turn].tokens
            polarities = self.index.turns[turn].polarities
            for position, token in enumerate(tokens):
                if token.stem not in context:
                    continue
                if token.stem in polarity and polarities[position] is not polarity[token.stem]:
                    continue
                distances = [
                    (abs(position - said[n][1].position) if said[n][1].position >= 0 else 0, n) for n in numbers
                ]
                distance, nearest = min(distances)
                if distance <= 16:
                    scores[nearest] += 1
        return scores

    # negation -----------------------------------------------------------------------------------------------

    def _items(self, statement: _Statement) -> list[_Item]:
        """The findings a statement affirms or denies, each with the words around it that say where or when."""
        if statement.items is None:
            statement.items = self._read_items(statement)
        return statement.items

    def _read_items(self, statement: _Statement) -> list[_Item]:
        tokens = statement.tokens
        count = len(tokens)
        polarities = statement.polarities
        # The first token of each run of one stem ("chest pain", "shortness of breath" are one stem each) that
        # may name a finding: a clinical word or a body system, affirmed or denied.
        items: list[_Item] = []
        named = {stem_ for stem_ in {token.stem for token in tokens if token.is_word} if is_clinical(stem_)}
        named |= _SYSTEMS.intersection([token.stem for token in tokens])
        if not named:
            return items
        starts = [
            position
            for position, token in enumerate(tokens)
            if token.stem in named
            and token.is_word
            and polarities[position] is not Polarity.OPEN
            and (position == 0 or tokens[position - 1].stem != token.stem)
        ]
        if not starts:
            return items
        drug_positions = {p for mention in statement.drugs for p in range(mention.start, mention.end)}
        seen: set[tuple[str, Polarity, tuple[str, ...]]] = set()
        label = _label_end(tokens)
        label_words = tuple(
            dict.fromkeys(
                t.stem
                for t in tokens[:label]
                if t.is_word and t.text not in STOPWORDS and t.stem not in BOILERPLATE and not is_clinical(t.stem)
            )
        )
        # Which clause each token is in: the words that say where or when a finding is stay in its clause ("mild
        # neck pain, but no radicular pain"; "HENT: scalp pain Musculoskeletal: joint pain").
        clauses = []
        clause = 0
        for token in tokens:
            if token.text in _CONTEXT_BREAKS:
                clause += 1
            clauses.append(clause)
        for position in starts:
            token = tokens[position]
            if position in drug_positions or not (is_clinical(token.stem) or self._system_complaint(tokens, position)):
                continue
            polarity = polarities[position]
            last = position
            while last + 1 < count and tokens[last + 1].stem == token.stem:
                last += 1  # the whole phrase: "chest pain", "shortness of breath"
            context: list[str] = []
            for other in sorted(
                (*range(max(position - 5, 0), position), *range(last + 1, min(last + 6, count))),
                key=lambda p: abs(p - position),
            ):
                word = tokens[other]
                if (
                    other >= label
                    and clauses[other] == clauses[position]
                    and word.is_word
                    and word.stem != token.stem
                    and word.stem not in context
                    and (
                        word.text in _SIDES
                        or word.stem in _WHEN
                        or (
                            word.text not in STOPWORDS
                            and word.stem not in BOILERPLATE
                            and word.text not in _NOT_CONTEXT
                        )
                    )
                ):
                    context.append(word.stem)  # "right ankle pain", "lost weight in the past 6 months"
            # "neck pain, but no radicular pain": the same finding about two things is two items.
            key = (token.stem, polarity, tuple(sorted(context[:3])))
            if key not in seen:
                seen.add(key)
                items.append(
                    _Item(
                        token.stem,
                        tuple(context[:3]),
                        polarity,
                        statement.text[token.start : tokens[last].end],
                        not is_clinical(token.stem),
                        label_words,
                    )
                )
        return items

    def _system_complaint(self, tokens: Sequence[Token], position: int) -> bool:
        """ "urinary issues", "vision problems", "changes in sleep": a body system named with a vague complaint."""
        if tokens[position].stem not in _SYSTEMS:
            return False
        nearby = tokens[max(position - 4, 0) : position + 5]
        return any(token.stem in _VAGUE_COMPLAINTS for token in nearby)

    def _occurrences(self, item: _Item, near: Sequence[int]) -> list[Occurrence]:
        key = (item.key, item.complaint, item.context, item.label)
        found = self.item_occurrences.get(key)
        if found is None:
            found = self.item_occurrences[key] = self._find_occurrences(item)
        cited = [occurrence for occurrence in found if occurrence.turn in near]
        return cited or list(found)

    def _find_occurrences(self, item: _Item) -> list[Occurrence]:
        """Where the transcript says an item's finding, about the same thing when it can tell.

        Occurrences that settle the finding (said, or asked and answered) are preferred to questions left open;
        among them, those that share the most of the statement's words, the nearer the better ("no pain with
        pronation" over "pain with supination"), and never one said about the opposite ("medial" for a note's
        "lateral", the other side).
        """
        found = list(self.index.by_stem.get(item.key, []))
        if item.complaint:
            # "sleeping like a log" is not about "sleep disturbance": only the system said with a complaint counts.
            found = [o for o in found if self._complained_of(o)]
        for related in _SAID_AS.get(item.key, ()):
            # tenderness is "does it hurt when i press?"; pain on palpation is "tenderness"
            found.extend(self.index.by_stem.get(related, []))
        places = {word for word in (*item.context, *item.label) if word in _PLACES}
        if places and item.key in _LOCAL_FINDINGS:
            # "belly pain" says nothing of the knee pain: a finding said of another part of the body is another
            key = tuple(sorted(places))
            found = [o for o in found if not self._elsewhere_cached(o, key)]
        # A word the visit never says cannot tell one mention from another: the words it does say choose ("knee"
        # of "no pain with flexion of the knee" where the visit never says "flexion"). When it says none of them,
        # a finding of the whole body ("dyspnea on exertion", where the visit says "when i walk up my driveway")
        # is compared with every mention, and one of a place ("pain", "swelling") with none.
        context = tuple(dict.fromkeys(said for said in map(self._as_said, item.context) if said))
        local = item.key in _LOCAL_FINDINGS
        label_places = tuple(word for word in item.label if word in _PLACES and word not in _WHOLE_BODY_PLACES)
        if not context and local:
            # "pain" of an unsaid place is about something else: nothing to compare; "NECK: no swelling" is
            # about the neck
            context = item.context or label_places
        if context:
            scored = self._scored(found, context)
            if item.label and not any(score > 0 for score, _o in scored):
                context = item.label  # "Cervical spine exam: tenderness": the label says where
                scored = self._scored(found, context)
            # A finding of a named place ("swelling" of "NECK:") is not one said of no place in particular.
            found = self._most_relevant(scored, strict=local and not item.context and bool(label_places))
        return found

    def _scored(self, found: list[Occurrence], context: tuple[str, ...]) -> list[tuple[float, Occurrence]]:
        """Each occurrence with its relevance to ``context`` (see ``_relevance``)."""
        lookups = [(word, self._positions(word)) for word in {*context, *(_OPPOSITE.get(word, "") for word in context)}]
        lookups = [(word, by_turn) for word, by_turn in lookups if by_turn]
        # Only a turn that says one of the words can score by nearness; any other scores by its question only.
        near: set[int] = set().union(*(by_turn.keys() for _word, by_turn in lookups))
        scored = []
        for occurrence in found:
            if occurrence.turn in near:
                scored.append((self._relevance(occurrence, context, lookups), occurrence))
            else:
                scored.append((self._asked_about(occurrence.turn, context), occurrence))
        return scored

    def _most_relevant(self, scored: list[tuple[float, Occurrence]], *, strict: bool = False) -> list[Occurrence]:
        turns = self.index.turns
        settled = [(score, o) for score, o in scored if turns[o.turn].polarities[o.position] is not Polarity.OPEN]
        pool = settled if any(score > 0 for score, _o in settled) else scored
        best = max((score for score, _o in pool), default=0.0)
        if best > 0:
            return [occurrence for score, occurrence in pool if score >= best * 0.75]
        # A finding the visit mentions often ("pain") but never about this statement's subject ("back pain" for
        # "no pain with palpation of the abdomen") leaves nothing to compare; one it mentions once or twice
        # ("nausea") is about the same thing.
        found = [occurrence for _score, occurrence in scored]
        return found if len({o.turn for o in found}) <= 3 and not strict else []

    def _relevance(
        self, occurrence: Occurrence, context: tuple[str, ...], lookups: list[tuple[str, dict[int, list[int]]]]
    ) -> float:
        """How much of a statement's context is said next to an occurrence: each word counts the more the nearer
        it is, and a word said against it ("medial" for "lateral", the other side) takes its share away.
        ``lookups``: the positions, by turn, of the context's words and of their opposites."""
        turn = occurrence.turn
        here = occurrence.position
        nearest: dict[str, int] = {}
        breaks: list[int] | None = None
        for word, by_turn in lookups:
            best = None
            for position in by_turn.get(turn, ()):
                if abs(position - here) > _NEAR:
                    continue
                first, last = (position, here) if position < here else (here, position)
                # A word past "but" or the end of a sentence is about something else: "my left knee doesn't hurt,
                # but my right knee hurts" puts "left" with the first "hurt" and "right" with the second.
                if breaks is None:
                    breaks = self._breaks(turn)
                between = bisect_left(breaks, last) - bisect_left(breaks, min(first + 1, last)) if breaks else 0
                distance = last - first + 8 * between
                best = distance if best is None else min(best, distance)
            if best is not None:
                nearest[word] = best
        score = 0.0
        for word in context:
            opposite = _OPPOSITE.get(word, "")
            if opposite in nearest and (word not in nearest or nearest[opposite] < nearest[word]):
                score -= 1.0 / (1.0 + nearest[opposite] / 4.0)  # "my right knee hurts" for "left knee pain"
            elif word in nearest:
                score += 1.0 / (1.0 + nearest[word] / 4.0)
        if score <= 0:
            score += self._asked_about(turn, context)
        return score

    def _asked_about(self, turn: int, context: tuple[str, ...]) -> float:
        """ "no weakness" answers "... in your legs?": the question says what an answer is about."""
        score = 0.0
        if self._answers(turn):
            asked = self.index.turns[turn - 1].stems
            for word in context:
                if word in asked:
                    score += 0.5
                elif _OPPOSITE.get(word, "") in asked:
                    score -= 0.5
        return score

    def _positions(self, stem_: str) -> dict[int, list[int]]:
        """Where a stem is said: its positions in each turn (read once per stem, from the index)."""
        found = self.positions.get(stem_)
        if found is None:
            found = {}
            for turn, position in self.index.by_stem.get(stem_, ()):
                found.setdefault(turn, []).append(position)
            self.positions[stem_] = found
        return found

    def _breaks(self, turn: int) -> list[int]:
        """Where a turn's clauses break ("but", the end of a sentence), in order (read once per turn)."""
        found = self.clause_breaks.get(turn)
        if found is None:
            words = self.index.turns[turn].words
            found = self.clause_breaks[turn] = [i for i, word in enumerate(words) if word in _CLAUSE_BREAKS]
        return found

    def _answers(self, turn: int) -> bool:
        """Whether a turn answers the one before it, said by someone else, with a yes or a no."""
        answers = self.answers.get(turn)
        if answers is None:
            here, before = self.index.turns[turn], self.index.turns[turn - 1] if turn else None
            answers = self.answers[turn] = (
                before is not None
                and here.segment.speaker != before.segment.speaker
                and answer_kind(here.tokens) is not None
            )
        return answers

    def _complained_of(self, occurrence: Occurrence) -> bool:
        """Whether a body system or condition is said with a complaint or a finding next to it ("any problems
        with your bowels", "no issues with the migraine"); "your next problem, your migraines" of a plan names a
        diagnosis, not a complaint."""
        tokens = self.index.turns[occurrence.turn].tokens
        first = max(occurrence.position - 6, 0)
        for position in range(first, min(occurrence.position + 7, len(tokens))):
            token = tokens[position]
            if token.stem in FINDING_STEMS:
                return True
            if token.stem in _VAGUE_COMPLAINTS and not (position > 0 and tokens[position - 1].text in _ORDINALS):
                return True
        return False

    def _elsewhere_cached(self, occurrence: Occurrence, places: tuple[str, ...]) -> bool:
        key = (occurrence, places)
        elsewhere = self.elsewhere.get(key)
        if elsewhere is None:
            elsewhere = self.elsewhere[key] = self._elsewhere(occurrence, set(places))
        return elsewhere

    def _elsewhere(self, occurrence: Occurrence, places: set[str]) -> bool:
        """Whether a mention names a part of the body next to it ("belly pain", "pain in my back") that is not
        one of ``places`` nor in their region."""
        tokens = self.index.turns[occurrence.turn].tokens
        regions = {REGION_OF.get(place) for place in places} - {None}
        position = occurrence.position
        before = range(max(position - 3, 0), position)
        after = range(position + 1, min(position + 5, len(tokens)))
        other_place = False
        for other in (*before, *after):
            token = tokens[other]
            if token.text in _CLAUSE_BREAKS and other > position:
                break
            part = token.stem
            if part not in _PLACES or part in _GENERIC_PLACES:
                continue
            if other + 1 < len(tokens) and tokens[other + 1].text == "side":
                continue  # "on the right hand side"
            if part in places or (REGION_OF.get(part) in regions and part in REGION_OF):
                return False  # said of this place (or of its neighbour)
            other_place = True
        return other_place

    def _as_said(self, stem_: str) -> str:
        """The visit's word for a statement's word: itself, or one of its family ("exert" for "exertion")."""
        if stem_ in self.index.by_stem:
            return stem_
        if len(stem_) < 5 or stem_ in SYNONYMS:
            return ""
        if self.families is None:
            families: dict[str, str] = {}
            for said in self.index.by_stem:
                if len(said) >= 5 and said not in SYNONYMS:
                    families.setdefault(said[:5], said)
            self.families = families
        return self.families.get(stem_[:5], "")

    def _historical(self, occurrence: Occurrence, *, before_now: bool = False) -> bool:
        """Whether a mention is about the past as such: in a sentence that asks or says "ever", "history",
        "previously" or "... before", or in the first sentence of the answer to such a question. ``before_now``:
        only the past before this problem ("have you hurt this foot before?")."""
        turn = occurrence.turn
        sentences = self.history_sentences.get(turn)
        if sentences is None:
            tokens = self.index.turns[turn].tokens
            said = self.index.turns[turn].word_set
            spans = sentence_spans(tokens) if not said.isdisjoint(_HISTORY_WORDS) or "before" in said else []
            sentences = []
            for start, end in spans:
                past, where = _says_past(tokens, start, end)
                if past:
                    # unpunctuated speech: "... have you sprained it before" is not the whole turn
                    first = max(start, where - _PAST_REACH) if past == _BEFORE_NOW else start
                    sentences.append((first, end, past))
            asked = self._history_question(turn)
            if asked:
                # "have you ever hurt your left foot before?" — "no, i've had injuries but never injured this
                # foot": the answer's first sentence is about the past as well
                sentences.extend(
                    (start, min(end, start + 2 * _PAST_REACH), asked) for start, end in sentence_spans(tokens)[:1]
                )
            self.history_sentences[turn] = sentences
        return any(
            start <= occurrence.position < end and (past == _BEFORE_NOW or not before_now)
            for start, end, past in sentences
        )

    def _history_question(self, turn: int) -> str:
        """What past a turn answers, as another speaker, when the turn before ends asking about one."""
        if turn == 0:
            return ""
        here, before = self.index.turns[turn], self.index.turns[turn - 1]
        if here.segment.speaker == before.segment.speaker or (
            before.word_set.isdisjoint(_HISTORY_WORDS) and "before" not in before.word_set
        ):
            return ""
        spans = sentence_spans(before.tokens)
        if not spans:
            return ""
        start, end = spans[-1]
        return _says_past(before.tokens, max(start, end - 2 * _PAST_REACH), end)[0]

    def _historical_statement(self, statement: _Statement) -> bool:
        return not _HISTORY_STATEMENT_WORDS.isdisjoint([token.text for token in statement.tokens])

    def _negations(self, statement: _Statement) -> list[Flag]:
        flags: list[Flag] = []
        for item in self._items(statement):
            occurrences = self._occurrences(item, statement.cited)
            settled = [o for o in occurrences if self.index.polarity(o) is not Polarity.OPEN]
            if not settled:
                if item.polarity is Polarity.AFFIRMED and not occurrences:
                    flag = self._said_normal(item)
                    if flag is not None:
                        flags.append(flag)
                continue
            # A finding asked about as history ("have you ever hurt your left foot before?" — "no") says nothing
            # of the foot pain of today, and the other way round: mentions of the statement's own time decide,
            # when there are any.
            historical = self._historical_statement(statement)
            if not historical and item.polarity is Polarity.AFFIRMED:
                # "have you hurt this foot before?" — "never": nothing said of the injury of today
                settled = [
                    o
                    for o in settled
                    if self.index.polarity(o) is Polarity.AFFIRMED or not self._historical(o, before_now=True)
                ]
                if not settled:
                    continue
            same_time = [o for o in settled if self._historical(o) == historical]
            settled = same_time or settled
            agreeing = {o.turn for o in settled if self.index.polarity(o) is item.polarity}
            opposing = {o.turn for o in settled if self.index.polarity(o) is not item.polarity}
            # A turn that says it both ways ("i haven't gotten tired. and now i've been getting tired") settles
            # nothing by itself when other turns speak to it.
            mixed = agreeing & opposing
            if mixed and (agreeing | opposing) - mixed:
                agreeing -= mixed
                opposing -= mixed
            # Said the other way in every turn, or in nearly every one of many ("never hurt this ankle before"
            # among five turns about the ankle pain).
            if agreeing and not (len(opposing) >= 4 and len(opposing) >= 4 * len(agreeing)):
                # What the patient answers outweighs an aside in a long explanation ("that's what is causing the
                # cough as well as some of the shortness of breath") when only asides agree with the note.
                direct = [o for o in settled if o.turn in opposing and self._direct(o)]
                if not direct or any(self._direct(o) for o in settled if o.turn in agreeing):
                    continue
            settled = [o for o in settled if o.turn in opposing]
            first = settled[0]
            evidence = tuple(dict.fromkeys(i for o in settled[:3] for i in self.index.evidence_of(o)))
            said = self._said_polarity(first)
            if item.polarity is Polarity.NEGATED:
                message = f"The note says there is no {item.text}; in the transcript it is present: {_quote(said)}."
            else:
                message = f"The note says {item.text} is present; in the transcript it is denied: {_quote(said)}."
            flags.append(Flag(FlagKind.NEGATION, message, evidence, said))
        return flags

    def _only_asked(self, statement: _Statement) -> list[Flag]:
        """A finding the note affirms that the visit only asks about ("any vomiting?" with no answer that says
        yes): nothing in the transcript supports it."""
        for item in self._items(statement):
            if item.polarity is not Polarity.AFFIRMED or item.complaint:
                continue
            found = list(self.index.by_stem.get(item.key, []))
            for related in _SAID_AS.get(item.key, ()):
                found.extend(self.index.by_stem.get(related, []))
            if found and all(
                self.index.polarity(o) is Polarity.OPEN and o.position not in self.index.turns[o.turn].presumed
                for o in found
            ):
                first = found[0]
                said = self.index.words(first)
                return [
                    Flag(
                        FlagKind.UNSUPPORTED,
                        f"The note says {item.text} is present; the transcript only asks about it: {_quote(said)}.",
                        tuple(self.index.evidence_of(first)),
                        said,
                    )
                ]
        return []

    def _said_normal(self, item: _Item) -> Flag | None:
        """An abnormal finding the note affirms for an organ the visit called normal ("lungs are clear")."""
        organ = _ORGAN_OF_FINDING.get(item.key)
        if organ is None:
            return None
        for occurrence in self.index.by_stem.get(organ, []):
            turn = self.index.turns[occurrence.turn]
            window = []  # "your lungs are clear", "on your lung exam, everything sounds nice and clear"
            for token in turn.tokens[occurrence.position : occurrence.position + 10]:
                if token.text in _CLAUSE_BREAKS:
                    break
                window.append(token)
            # "fine crackles at the bases" names a finding: a normal word said of a finding is not said of the organ
            normal = any(
                token.text in _NORMAL_WORDS and not (i + 1 < len(window) and is_clinical(window[i + 1].stem))
                for i, token in enumerate(window)
            )
            if normal and self.index.polarity(occurrence) is Polarity.AFFIRMED:
                said = self.index.words(occurrence, 0, 6)
                return Flag(
                    FlagKind.NEGATION,
                    f"The note says {item.text}; the transcript says {_quote(said)}.",
                    tuple(self.index.evidence_of(occurrence)),
                    said,
                )
        return None

    def _direct(self, occurrence: Occurrence) -> bool:
        """Whether a mention is said directly: in a short turn, at the start of a turn (a reply to what was just
        said), or asked and answered; not an aside of a long explanation."""
        turn = self.index.turns[occurrence.turn]
        return (
            len(turn.tokens) <= _DIRECT_TURN
            or occurrence.position < _REPLY_REACH
            or turn.answered_by[occurrence.position] is not None
        )

    def _said_polarity(self, occurrence: Occurrence) -> str:
        turn = self.index.turns[occurrence.turn]
        answered = turn.answered_by[occurrence.position]
        words = self.index.words(occurrence)
        if answered is not None:
            answer = self.index.turns[answered]
            return f"{words} — {answer.segment.speaker or 'answer'}: {' '.join(answer.segment.text.split()[:8])}"
        return words

    # unsupported --------------------------------------------------------------------------------------------

    def _asserted_phrases(self, statement: _Statement, skip: set[int]) -> list[tuple[str, tuple[str, ...]]]:
        """The things a statement says the patient has ("reports double vision", "there is cold intolerance"),
        each as its words and its content stems."""
        tokens = statement.tokens
        words = [token.text for token in tokens]
        phrases: list[tuple[str, tuple[str, ...]]] = []
        position = 0
        while position < len(tokens):
            length = (
                max((len(p) for p in _ASSERTING if tuple(words[position : position + len(p)]) == p), default=0)
                if words[position] in _ASSERTING_STARTS
                else 0
            )
            if not length or statement.polarities[position] is not Polarity.AFFIRMED:
                position += 1
                continue
            position += length
            current: list[int] = []
            while position <= len(tokens):
                word = words[position] if position < len(tokens) else "."
                if word in _ITEM_SPLIT or word in _PHRASE_END:
                    stems = tuple(
                        dict.fromkeys(
                            tokens[i].stem
                            for i in current
                            if i not in skip
                            and tokens[i].is_word
                            and tokens[i].text not in STOPWORDS
                            and tokens[i].stem not in BOILERPLATE
                            and tokens[i].text not in _NOT_CONTEXT
                            and statement.polarities[i] is Polarity.AFFIRMED
                        )
                    )
                    novel = [s for s in stems if not self._said_loosely(s) and s not in _FRAMING]
                    if novel and len(stems) <= 4:
                        text = statement.text[tokens[current[0]].start : tokens[current[-1]].end]
                        phrases.append((text, stems))
                    current = []
                    if word in _PHRASE_END or word in ("with", "when", "while", "after", "in", "on", "at", "from"):
                        break
                else:
                    current.append(position)
                position += 1
        return phrases

    def _unsaid_place(self, statement: _Statement) -> str | None:
        """A finding the note places where the visit never goes ("pain in her left shoulder" in a visit about a
        knee): the message for it, or None."""
        for item in self._items(statement):
            if item.polarity is not Polarity.AFFIRMED or item.key not in _LOCAL_FINDINGS:
                continue
            places = [word for word in item.context if word in _PLACES and word not in _NOT_A_PLACE]
            if not places or any(self._said_loosely(place) for place in places):
                continue
            written = next((t.text for t in statement.tokens if t.stem == places[0]), places[0])
            return f"The note says {item.text} in the {written}; the transcript never mentions the {written}."
        return None

    def _said_loosely(self, stem_: str) -> bool:
        """Whether the visit says a word or one of its family ("smoker" for "smoking", "golfer" for "golfing")."""
        if stem_ in self.index.by_stem:
            return True
        if stem_ in SYNONYMS:
            return False  # a concept ("weight_loss") is said in one of its own phrasings or not at all
        if len(stem_) >= 5 and stem_[:5] in self.prefixes:
            return True
        return 4 <= len(stem_) <= 6 and stem_[:4] in self.prefixes

    def _said_together(self, stems: tuple[str, ...]) -> bool:
        """Whether the visit says most of these words close together (all of two, two of three)."""
        needed = len(stems) if len(stems) <= 2 else len(stems) - 1
        rarest = min(stems, key=lambda s: len(self.index.by_stem.get(s, ())))
        anchors = self.index.by_stem.get(rarest, []) or [
            occurrence for s in stems for occurrence in self.index.by_stem.get(s, [])
        ]
        for occurrence in anchors:
            turn = self.index.turns[occurrence.turn]
            window = {t.stem for t in turn.tokens[max(occurrence.position - 10, 0) : occurrence.position + 11]}
            if sum(s in window for s in stems) >= needed:
                return True
        return False

    def _unsupported(self, statement: _Statement) -> list[Flag]:
        tokens = statement.tokens
        drug_positions = {p for mention in statement.drugs for p in range(mention.start, mention.end)}
        missing: list[str] = []
        polarities = statement.polarities
        for position in [
            position
            for position, token in enumerate(tokens)
            if token.stem in FINDING_STEMS
            and polarities[position] is Polarity.AFFIRMED
            and (position == 0 or tokens[position - 1].stem != token.stem)  # the first word of a phrase
        ]:
            token = tokens[position]
            if (
                position not in drug_positions
                and not self._said_loosely(token.stem)
                and not any(self._said_loosely(related) for related in _SAID_AS.get(token.stem, ()))
            ):
                last = position
                while last + 1 < len(tokens) and tokens[last + 1].stem == token.stem:
                    last += 1
                phrase = statement.text[token.start : tokens[last].end]
                if phrase not in missing:
                    missing.append(phrase)
        evidence = tuple(self.index.turns[t].segment.id for t in statement.cited)
        if missing:
            named = ", ".join(missing)
            return [
                Flag(
                    FlagKind.UNSUPPORTED,
                    f"The note mentions {named}; nothing in the transcript says so.",
                    evidence,
                    "",
                )
            ]
        unsaid_place = self._unsaid_place(statement)
        if unsaid_place is not None:
            return [Flag(FlagKind.UNSUPPORTED, unsaid_place, evidence, "")]
        for words, stems in self._asserted_phrases(statement, drug_positions):
            if not self._said_together(stems):
                return [
                    Flag(
                        FlagKind.UNSUPPORTED,
                        f"The note says {words}; nothing in the transcript says so.",
                        evidence,
                        "",
                    )
                ]
        label_end = _label_end(tokens)
        content = [
            token.stem
            for position, token in enumerate(tokens)
            if token.is_word
            and position >= label_end
            and position not in drug_positions
            and token.text not in STOPWORDS
            and token.stem not in BOILERPLATE
            and len(token.text) > 2
        ]
        content = list(dict.fromkeys(content))
        novel = [s for s in content if s not in self.index.by_stem]
        if len(content) >= 4 and len(novel) >= 4 and len(novel) / len(content) >= 0.8:
            return [
                Flag(
                    FlagKind.UNSUPPORTED,
                    "Nothing in the transcript supports this statement.",
                    evidence,
                    "",
                )
            ]
        return []


_ASSERTING = (
    ("reports",),
    ("reported",),
    ("endorses",),
    ("endorsed",),
    ("notes",),
    ("complains", "of"),
    ("positive", "for"),
    ("presents", "with"),
    ("experiencing",),
    ("experiences",),
    ("admits", "to"),
    ("there", "is"),
    ("there", "are"),
)
_ASSERTING_STARTS = frozenset(phrase[0] for phrase in _ASSERTING)
# How notes frame what was said: never themselves a finding that needs saying.
_FRAMING = frozenset(
    stem(word)
    for word in word_list(
        """
        compliant compliance adherent adherence noncompliant improved improvement improving beneficial helpful
        asymptomatic stable active doing managed controlled tolerating tolerated lately recently occasional
        occasionally symptomatic relief worsened worsening increased decreased immediate significant mild moderate
        severe intermittent chronic acute persistent constant ongoing new prior previous history continued
        continues slight slightly some several multiple associated general overall difficulty trouble issues
        problem problems concerns episodes episode sensation feeling feelings change changes elevated high low
        good bad better worse well poor normal abnormal positive negative possible likely
        """
    )
)
_PHRASE_END = frozenset({".", ";", ":", "?", "!", "but", "which", "that", "since", "because", "although", "however"})
_ITEM_SPLIT = frozenset({",", "and", "or", "with", "when", "while", "after", "in", "on", "at", "from", "to", "for"})


_BEFORE_NOW = "before now"
# How far back from "before" its question reaches in unpunctuated speech ("have you sprained your ankle before").
_PAST_REACH = 12
# Words that start a new clause in unpunctuated speech ("never injured this ankle before but because i ...").
_CLAUSE_STARTS = frozenset({"but", "and", "so", "because", "okay", "alright"})
_EVER = "ever"


def _says_past(tokens: Sequence[Token], start: int, end: int) -> tuple[str, int]:
    """Whether a sentence asks or says about the past, and where: ``_BEFORE_NOW`` when it ends on "before" (before
    this problem), ``_EVER`` when it says "ever", "history" or "previously", else ""."""
    found = ("", start)
    for position in range(start, end):
        word = tokens[position].text
        if word == "before" and (
            position + 1 == end or not tokens[position + 1].is_word or tokens[position + 1].text in _CLAUSE_STARTS
        ):
            return _BEFORE_NOW, position
        if word in _HISTORY_WORDS and not found[0]:
            found = (_EVER, position)
    return found


def _ends(quantity: Quantity) -> tuple[Quantity, Quantity]:
    """A range's two ends, each as an amount of its own."""
    return (
        dataclasses.replace(quantity, high=quantity.low, is_range=False),
        dataclasses.replace(quantity, low=quantity.high, is_range=False),
    )


def _same_ends(written: Quantity, said: Quantity) -> bool:
    """Whether two ranges have the same ends ("6 to 8 weeks", "six to eight weeks"), not only meet."""
    return all(same_amount(mine, theirs) for mine, theirs in zip(_ends(written), _ends(said), strict=True))


def _full_year(year: str) -> int:
    return int(year) if len(year) == 4 else 2000 + int(year)


def _label_end(tokens: Sequence[Token]) -> int:
    """Where a leading label ("Medical Reasoning:", "MSK: Examination of the abdomen:") ends; 0 when none."""
    end = 0
    for position, token in enumerate(tokens[:9]):
        if token.text == ":":
            end = position + 1
    return end
