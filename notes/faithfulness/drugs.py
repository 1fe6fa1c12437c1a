"""Drug names, generic and brand, resolved to one canonical drug so that "Lipitor" and "atorvastatin" meet.

The lexicon is the one bundled with the ``drug-named-entity-recognition`` package (Fast Data Science, MIT
licence; its dictionary is built from DrugBank open data (CC0), MeSH and MedlinePlus of the U.S. National
Library of Medicine, the NHS and Wikipedia, and ships inside the wheel, so nothing is fetched at run time).
We read its name → canonical table once and look names up ourselves: the package's own finder also looks up
molecular structures and OMOP ids, which we do not want near a checker that must never touch the network.

A few corrections sit on top: classes of drugs ("antibiotics", "NSAIDs") are not a drug a note can get wrong,
some entries are everyday English words, salts name the same drug ("metoprolol succinate" is metoprolol), and
a few common brand names are missing from the dictionary.
"""

from __future__ import annotations

import bz2
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from notes.faithfulness.text import STOPWORDS, Token, word_list

# Entries of the lexicon that are ordinary words in a visit, or lab analytes rather than drugs given.
_NOT_DRUGS = frozenset(
    word_list(
        """
        sits paps agit sulfate sulfates ferritin ferritins antibodies antibody immunoglobulin immunoglobulins
        cortisol aldosterone estrogen estrogens testosterone glucose oxygen water salt sugar alcohol caffeine
        nicotine protein vitamin vitamins iron calcium potassium sodium magnesium zinc chloride bicarbonate
        creatinine urea albumin bilirubin cholesterol insulin-like hormone hormones blood plasma serum air ice
        heat cold gel cream ointment lotion spray patch drops tablet capsule pill injection shot placebo
        contrast dye saline dextrose sugar sucrose fructose lactose fiber fibre coffee tea milk sunscreen
        antibiotic antibiotics analgesic analgesics steroid steroids nsaid nsaids statin statins opioid
        opioids narcotic narcotics antidepressant antidepressants antihistamine antihistamines anti-
        inflammatory anti-inflammatories immunosuppressant immunosuppressants diuretic diuretics vaccine
        vaccines booster chemo chemotherapy radiation anesthesia supplement supplements multivitamin probiotic
        probiotics laxative laxatives stool softener softeners birth control contraceptive contraceptives pain
        reliever relievers fish oil omega
        """
    )
)

# Brand names in common use that the dictionary lacks, and names a transcript spells its own way.
_EXTRA_NAMES = {
    "norco": "hydrocodone/acetaminophen",
    "vicodin": "hydrocodone/acetaminophen",
    "lortab": "hydrocodone/acetaminophen",
    "percocet": "oxycodone/acetaminophen",
    "keflex": "cephalexin",
    "augmentin": "amoxicillin/clavulanate",
    "z-pack": "azithromycin",
    "zpack": "azithromycin",
    "z-pak": "azithromycin",
    "zpak": "azithromycin",
    "epiduo": "adapalene/benzoyl peroxide",
    "breo": "fluticasone furoate/vilanterol",
    "b12": "cyanocobalamin",
    "tylenol": "acetaminophen",
    "levothyroxine": "thyroxine",
    "levoxyl": "thyroxine",
    "vitamin d": "vitamin d",
    "vitamin d3": "vitamin d",
    "vitamin d2": "vitamin d",
    "ergocalciferol": "vitamin d",
    "cholecalciferol": "vitamin d",
    "benzoyl peroxide": "benzoyl peroxide",
    "phentermine": "phentermine",
}

# Canonical names that are the same drug for a note's purposes.
_SAME_DRUG = {
    "ergocalciferol": "vitamin d",
    "cholecalciferol": "vitamin d",
    "levothyroxine": "thyroxine",
    "metoprolol succinate": "metoprolol",
    "metoprolol tartrate": "metoprolol",
}

_SALTS = re.compile(
    r"\b(succinate|tartrate|hydrochloride|hcl|sodium|potassium|calcium|acetate|sulfate|maleate|besylate|"
    r"mesylate|citrate|phosphate|fumarate|bromide|er|xr|sr|xl|cr|la|dr|extended release|ir)\b"
)
_CLASS_HINTS = (
    "agents",
    "inhibitors",
    "analgesics",
    "antagonists",
    "agonists",
    "blockers",
    "supplement",
    "contraceptives",
    "vaccines",
    "antibodies",
    "immunoglobulins",
)


@dataclass(frozen=True, slots=True)
class DrugMention:
    canonical: str
    start: int  # token range
    end: int
    text: str  # the words as written or said


def _dictionary_path() -> Path | None:
    spec = find_spec("drug_named_entity_recognition")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "drug_ner_dictionary.pkl.bz2"


def _canonical(name: str) -> str:
    name = name.lower().strip()
    if name in _SAME_DRUG:
        return _SAME_DRUG[name]
    bare = _SALTS.sub("", name)
    bare = re.sub(r"\s+", " ", bare).strip(" ,")
    return _SAME_DRUG.get(bare, bare or name)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Drug names → canonical drug, compact: one string key per name (its words joined by spaces), the
    canonical names shared, and the longest name starting with each first word, so that reading a text costs
    one dictionary look-up per word that cannot start a drug name."""

    names: dict[str, str]
    starts: dict[str, int]
    # each first word of a name of several words with the word that can follow it ("vitamin d", "a and"), and
    # with "-": most words that start some name ("and", "i", "a") start none with the word after them. One set
    # of strings, which the garbage collector need not walk through.
    pairs: frozenset[str]

    def canonical(self, words: Sequence[str]) -> str | None:
        return self.names.get(" ".join(words))

    def __len__(self) -> int:
        return len(self.names)


_MISSING = ""
_PLAIN = re.compile(r"[a-z0-9 ]+\Z")


@cache
def lexicon() -> Lexicon:
    """The drug lexicon, read from the package's dictionary the first time it is asked for and kept for the life
    of the process (well under a second; the pipeline's worker and the web process each read it once)."""
    names: dict[str, str] = {}
    path = _dictionary_path()
    if path is not None and path.exists():
        with bz2.open(path, "rb") as handle:
            data = pickle.load(handle)  # noqa: S301 - the package's own dictionary, not user input
        # 107,000 names share 18,000 canonical drugs: each canonical is cleaned once.
        canonicals: dict[str, str] = {}
        for variant, entries in data["drug_variant_to_canonical"].items():
            if not entries:
                continue
            raw = str(entries[0])
            canonical = canonicals.get(raw)
            if canonical is None:
                excluded = any(hint in raw for hint in _CLASS_HINTS) or (raw.endswith("s") and " " in raw)
                canonical = canonicals[raw] = _MISSING if excluded else _canonical(raw)
            if canonical is _MISSING:
                continue
            lowered = str(variant).lower()
            words = lowered.split() if _PLAIN.match(lowered) else _words(lowered)
            if not words or len(words) > 4:
                continue
            if len(words) == 1 and (len(words[0]) < 4 or words[0] in STOPWORDS or words[0] in _NOT_DRUGS):
                continue
            key = " ".join(words)
            if key in _NOT_DRUGS:
                continue
            names[key] = canonical
    for name, canonical in _EXTRA_NAMES.items():
        names[" ".join(_words(name))] = _canonical(canonical)
    starts: dict[str, int] = {}
    pairs: set[str] = set()
    for key in names:
        words = key.split(" ")
        first = words[0].split("-")[0]
        starts[first] = max(starts.get(first, 0), len(words) + words[0].count("-") * 2)
        parts = [part for part in _PARTS.split(key) if part]
        if len(parts) > 1:
            pairs.add(f"{parts[0]} {parts[1]}")
            pairs.add(f"{parts[0]} -")
    return Lexicon(names, starts, frozenset(pairs))


_PARTS = re.compile(r"[ -]")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*|-", text.lower())


def find_drugs(tokens: Sequence[Token], source: str = "", words: Sequence[str] | None = None) -> list[DrugMention]:
    """Drug names in a token list, longest name first, each resolved to its canonical drug; ``words``, when
    given, are the tokens' texts."""
    table = lexicon()
    names, starts = table.names, table.starts
    if words is None:
        words = [token.text for token in tokens]
    found: list[DrugMention] = []
    after = 0  # where the last name found ends
    pairs = table.pairs
    last = len(words) - 1
    for index in [i for i, word in enumerate(words) if word in starts and tokens[i].is_word]:
        if index < after:
            continue
        word = words[index]
        if word not in names and (index == last or f"{word} {words[index + 1]}" not in pairs):
            continue  # no name is this word alone, nor starts with it and the word after
        longest = starts[words[index]]
        for length in range(min(longest, len(words) - index), 0, -1):
            key = words[index : index + length]
            if key[-1] == "-":
                continue
            canonical = names.get(" ".join(word for word in key if word != "-"))
            if canonical is None and "-" in key:
                canonical = names.get("-".join(word for word in key if word != "-"))
            if canonical is None:
                continue
            text = source[tokens[index].start : tokens[index + length - 1].end] if source else " ".join(key)
            found.append(DrugMention(canonical, index, index + length, text))
            after = index + length
            break
    return found


def is_drug_word(word: str) -> bool:
    return word.lower() in lexicon().names


def display_name(canonical: str) -> str:
    return canonical
