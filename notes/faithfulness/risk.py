"""Risks a note must not leave out: suicidal or homicidal ideation, self-harm, abuse, not taking medication.

A risk counts when the visit affirms it (a patient says it, or answers "yes" when asked), never when it is
denied or only asked about. It is omitted when the note says nothing of it at all; a note that mentions it but
gets it wrong is the negation detector's business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from notes.content import SegmentId
from notes.faithfulness.negation import Polarity
from notes.faithfulness.text import Token, word_list
from notes.faithfulness.transcript import TranscriptIndex


@dataclass(frozen=True, slots=True)
class Risk:
    key: str
    label: str  # what was said, in a clinician's words
    evidence: tuple[SegmentId, ...]
    said: str


_LABELS = {
    "suicidal_ideation": "the patient affirmed suicidal ideation",
    "homicidal_ideation": "the patient affirmed homicidal ideation",
    "self_harm": "the patient affirmed self-harm",
    "abuse": "the patient described abuse or not feeling safe",
    "non_adherence": "the patient said they are not taking a medication as prescribed",
}

# What a note may call each risk. Any of these anywhere in the note means the risk is not omitted.
_NOTE_TERMS = {
    "suicidal_ideation": re.compile(
        r"suicid|self[- ]harm|harm (?:him|her|them)sel|kill (?:him|her)self|end (?:his|her) life"
        r"|want(?:s|ed)? to die|passive death wish|\bSI\b",
        re.I,
    ),
    "homicidal_ideation": re.compile(r"homicid|harm(?:ing)? others|hurt(?:ing)? others|violen|\bHI\b", re.I),
    "self_harm": re.compile(
        r"self[- ]?harm|self[- ]injur|cutting|cuts (?:him|her)self|burn(?:s|ing)? (?:him|her)self|suicid", re.I
    ),
    "abuse": re.compile(
        r"abus|violen|assault|unsafe|not (?:feel )?safe|afraid|fear(?:ful)? of|neglect|molest|rape|threat", re.I
    ),
    "non_adherence": re.compile(
        r"adheren|complian|forget|forgot|miss(?:ed|es|ing)? (?:\w+ )?dose|skip|not (?:been )?taking|stopped taking"
        r"|ran out|run out|inconsisten|afford|cost|not (?:yet )?(?:started|filled|picked up)"
        r"|did not (?:start|fill|take)|has not (?:been )?(?:started|filled|taken|taking|using)|discontinued"
        r"|self[- ]discontinu|non-?adheren|off (?:of )?(?:his|her|their) ",
        re.I,
    ),
}

_PARTNERS = r"(?:him|her|my (?:husband|wife|partner|boyfriend|girlfriend|dad|father|mom|mother))"
_ABUSE = re.compile(
    r"\b(?:(?<!alcohol )(?<!drug )(?<!substance )(?<!opioid )(?<!opiate )abus(?:e|ed|es|ive|ing)\b"
    r"|domestic violence"
    r"|(?:hits?|hitting|beats?|beating|chok(?:es|ed|ing)|punch(?:es|ed)|kick(?:s|ed)|push(?:es|ed)|slap(?:s|ped)"
    r"|threaten(?:s|ed)?) me\b"
    r"|afraid of " + _PARTNERS + r"|(?:don'?t|do n't|do not) feel safe|not safe at home|unsafe at home"
    r"|molest|raped|rape\b|sexually assaulted)",
    re.I,
)
# Every word the abuse pattern can match on (tokens are lower-cased words).
_ABUSE_WORDS = frozenset(
    word_list(
        """
        abuse abused abuses abusive abusing domestic hit hits hitting beat beats beating choke chokes choked
        choking punch punches punched kick kicks kicked push pushes pushed slap slaps slapped threaten threatens
        threatened afraid safe unsafe raped rape sexually
        """
    )
)
_NON_ADHERENCE_VERBS = frozenset(
    word_list(
        """
        forget forgot forgetting forgets forgotten miss missed missing misses skip skipped skipping skips quit
        ran run running
        """
    )
)
_TAKING = frozenset({"take", "taking", "took", "taken", "using", "use", "used", "filled", "fill", "started"})
_MEDICATION_WORDS = frozenset({"dose", "doses", "dosage", "inhaler", "insulin", "refill", "refills", "shots"})
_ADHERENCE_WORDS = _NON_ADHERENCE_VERBS | _TAKING | {"stopped"}


def affirmed_risks(index: TranscriptIndex) -> list[Risk]:
    """The risks a visit affirms, first occurrence of each (in the order the visit says them)."""
    found: dict[str, Risk] = {}
    ideation = [stem_ for stem_ in _IDEATION if stem_ in index.by_stem]
    # The abuse pattern needs one of a few words: a visit that says none of them is not searched.
    said: set[str] = set().union(*(turn.word_set for turn in index.turns))
    abuse = not said.isdisjoint(_ABUSE_WORDS) or any(word.startswith("molest") for word in said)
    for turn_index, turn in enumerate(index.turns):
        tokens = turn.tokens
        if ideation and not turn.stems.isdisjoint(ideation):
            for position, token in enumerate(tokens):
                if (
                    token.stem in _IDEATION
                    and token.stem not in found
                    and turn.polarities[position] is Polarity.AFFIRMED
                ):
                    found[token.stem] = _risk(index, token.stem, turn_index, position)
        if (
            abuse
            and "abuse" not in found
            and (not turn.word_set.isdisjoint(_ABUSE_WORDS) or any(word.startswith("molest") for word in turn.words))
        ):
            match = _ABUSE.search(turn.segment.text)
            if match:
                at = _position_at(tokens, match.start())
                if at is not None and turn.polarities[at] is Polarity.AFFIRMED:
                    found["abuse"] = _risk(index, "abuse", turn_index, at)
        if "non_adherence" not in found and not turn.word_set.isdisjoint(_ADHERENCE_WORDS):
            at = _non_adherence(turn.tokens, turn.polarities, bool(turn.drugs))
            if at is not None:
                found["non_adherence"] = _risk(index, "non_adherence", turn_index, at)
    return list(found.values())


_IDEATION = ("suicidal_ideation", "homicidal_ideation", "self_harm")


def _risk(index: TranscriptIndex, key: str, turn_index: int, position: int) -> Risk:
    from notes.faithfulness.transcript import Occurrence

    occurrence = Occurrence(turn_index, position)
    return Risk(key, _LABELS[key], tuple(index.evidence_of(occurrence)), index.words(occurrence, 8, 10))


def _position_at(tokens: Sequence[Token], offset: int) -> int | None:
    for position, token in enumerate(tokens):
        if token.end > offset:
            return position
    return None


def _non_adherence(tokens: Sequence[Token], polarities: Sequence[Polarity], names_a_drug: bool) -> int | None:
    """Where a turn says a medication is not being taken: "i forget to take my pills", "ran out of insulin"."""
    words = [token.text for token in tokens]
    for position, word in enumerate(words):
        if word not in _NON_ADHERENCE_VERBS and word not in _TAKING and word != "stopped":
            continue
        window = range(position + 1, min(position + 8, len(words)))
        about_medication = any(
            tokens[other].stem == "medication" or words[other] in _MEDICATION_WORDS for other in window
        ) or (names_a_drug and any(words[other] in ("it", "them") for other in window))
        if not about_medication:
            continue
        if word in _NON_ADHERENCE_VERBS and polarities[position] is Polarity.AFFIRMED:
            if word in ("run", "running", "ran") and "out" not in words[position + 1 : position + 3]:
                continue
            if word == "quit" or word.startswith(("forg", "miss", "skip", "ran", "run")):
                return position
        if (
            word == "stopped"
            and polarities[position] is Polarity.AFFIRMED
            and position > 0
            and (words[position - 1] in ("i", "i've", "she", "he"))
        ):
            return position
        if word in _TAKING and polarities[position] is Polarity.NEGATED:
            between = words[position + 1 : position + 4]
            if "any" in between or "other" in between:
                continue  # "i don't take any medications": none prescribed, not none taken
            return position
    return None


def omitted_risks(index: TranscriptIndex, note_text: str) -> list[Risk]:
    """Risks the visit affirms and the note never mentions."""
    return [risk for risk in affirmed_risks(index) if not _NOTE_TERMS[risk.key].search(note_text)]
