"""How well the faithfulness checker finds errors put into real notes, and how often it flags faithful ones.

    .venv/bin/python bench/faithfulness.py --data path/to/valid.csv [--per-kind 3] [--seed 7]

The data is ACI-Bench (Yim et al., 2023, CC BY 4.0): columns ``dialogue`` (one ``[speaker] words`` turn per
line) and ``note`` (the reference note). Each reference note is split into statements; copies are corrupted one
statement at a time, with a fixed seed:

- ``medication``: a drug name swapped for another real drug that the visit never names;
- ``dose``: an amount with a dose unit (mg, mcg, units, mL, tablets) changed;
- ``number``: another number (age, vital, duration, count, score, percentage) changed;
- ``laterality``: left and right swapped for a body part;
- ``negation``: "denies" ↔ "reports", "no X" → "X", "negative for" ↔ "positive for";
- ``unsupported``: a finding the visit never mentions added as a new statement.

The corruptions are chosen with the harness's own word lists, not the checker's. A corruption counts as
detected when the checker flags the corrupted statement with the matching kind and did not flag the original
statement with that kind. The false-flag rate is the share of original statements with any flag.

A negation flip of a finding the visit never mentions at all (a review-of-systems line nobody asked about)
cannot be a contradiction: the right flag is ``unsupported``. The harness decides "never mentions" by itself,
with its own reading: the words of each finding the flipped clause names, found together in one turn of the
dialogue (matched on their first five letters), or not; a finding is named by the harness's symptom words in
it ("pain" of "joint pain"), so a visit that says "pain" anywhere mentions it. Two figures are reported for
negation: found as ``negation`` only, and found as ``negation`` or, where the visit never mentions the finding,
``unsupported``.

A trivial baseline runs in the same pass: a statement is flagged when fewer than half of its content words
occur in the transcript (bag-of-words overlap).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notes.content import Flag
from notes.faithfulness.checker import NoteCheck, check_note
from notes.faithfulness.drugs import lexicon
from notes.faithfulness.note import NoteSection, NoteStatement, split_note
from notes.faithfulness.transcript import TranscriptIndex, parse_transcript


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(" ".join(part.split()) for part in text.split(";") if part.strip())


KINDS = ("medication", "dose", "number", "laterality", "negation", "unsupported")

# Real drugs to swap in; one the visit names is never used.
SWAP_DRUGS = _words(
    """
    atorvastatin metoprolol amlodipine losartan hydrochlorothiazide gabapentin sertraline omeprazole
    levothyroxine prednisone warfarin apixaban clopidogrel furosemide spironolactone tramadol oxycodone
    cyclobenzaprine meloxicam naproxen ibuprofen amoxicillin azithromycin doxycycline ciprofloxacin fluoxetine
    escitalopram bupropion trazodone alprazolam lorazepam zolpidem insulin glargine glipizide sitagliptin
    pioglitazone montelukast albuterol fluticasone cetirizine Lipitor Zoloft Lasix Norvasc Xarelto Eliquis
    Synthroid Flexeril Mobic Keflex
    """
)
DOSE_UNITS = r"(?:mg|mcg|milligrams?|micrograms?|units?|IU|mL|ml|cc|tablets?|puffs?|g)\b(?!/)"
BODY_PARTS = _phrases(
    """
    knee; knees; ankle; ankles; hip; hips; shoulder; shoulders; elbow; wrist; hand; hands; foot; feet; toe;
    finger; thumb; leg; legs; arm; arms; eye; eyes; ear; ears; breast; lung; lungs; kidney; flank; side; lower
    extremity; lower extremities; upper extremity; upper extremities; calf; thigh; heel; groin; chest; back;
    neck; temple; forearm; shin; buttock; rib; ribs; clavicle; radial; carotid; ovary
    """
)
SYMPTOM_WORDS = _words(
    """
    pain ache aches fever fevers chills nausea vomiting diarrhea constipation cough shortness breath dyspnea
    swelling edema tenderness numbness tingling weakness fatigue dizziness headache headaches rash bleeding
    murmur murmurs wheezing palpitations syncope weight appetite sweats congestion erythema ideation depression
    anxiety insomnia stiffness bruising discharge hematuria dysuria urgency incontinence seizures tremor
    confusion effusion crepitus instability deformity lymphadenopathy gallops rubs crackles rales masses injury
    trauma fracture abnormalities lesions ulcers symptoms changes problems issues concerns complaints sore
    soreness stiff tender swollen redness warmth
    """
)
INVENTED_FINDINGS = _phrases(
    """
    intermittent palpitations; blurred vision; night sweats; blood in the urine; black, tarry stools; a new rash
    on the forearm; ringing in the ears; hair loss; difficulty swallowing; easy bruising; frequent nosebleeds;
    cold intolerance; a persistent dry cough; hearing loss; double vision; a tremor in the hands; chest
    tightness on exertion; episodes of fainting; excessive thirst; hoarseness of voice; jaw pain when chewing;
    calf pain when walking; a lump in the neck; vaginal bleeding; difficulty concentrating; a burning sensation
    when urinating; joint stiffness; loss of smell; heartburn after meals; swollen lymph nodes; muscle cramps at
    night; hemoptysis; facial numbness; memory problems; sensitivity to light; unintentional weight loss
    """
)


Injected = tuple[tuple[int, int], str] | None


@dataclass
class Case:
    kind: str
    sections: list[NoteSection]
    where: tuple[int, int]  # (section, statement) of the corrupted statement
    original: str | None  # the statement before corruption; None for an added one


@dataclass
class Tally:
    eligible: int = 0
    detected: int = 0
    detected_any: int = 0
    baseline: int = 0
    # negation only: flips of findings the visit never mentions; those found as negation or, for a finding never
    # mentioned, as unsupported
    never_said: int = 0
    detected_or_unsupported: int = 0
    examples: list[str] = field(default_factory=list)


def load(path: Path) -> list[tuple[str, str, str]]:
    csv.field_size_limit(10**9)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [(row.get("encounter_id", str(i)), row["dialogue"], row["note"]) for i, row in enumerate(rows)]


def statements_of(sections: list[NoteSection]) -> Iterator[tuple[tuple[int, int], str]]:
    for s_index, section in enumerate(sections):
        for t_index, statement in enumerate(section.statements):
            yield (s_index, t_index), statement.text


def replaced(sections: list[NoteSection], where: tuple[int, int], text: str) -> list[NoteSection]:
    out = []
    for s_index, section in enumerate(sections):
        statements = list(section.statements)
        if s_index == where[0]:
            statements[where[1]] = NoteStatement(text)
        out.append(NoteSection(section.key, section.heading, statements))
    return out


def inserted(sections: list[NoteSection], where: tuple[int, int], text: str) -> list[NoteSection]:
    out = []
    for s_index, section in enumerate(sections):
        statements = list(section.statements)
        if s_index == where[0]:
            statements.insert(where[1], NoteStatement(text))
        out.append(NoteSection(section.key, section.heading, statements))
    return out


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


# --- injectors ------------------------------------------------------------------------------------------------


def said_drugs(dialogue: str) -> set[str]:
    """Canonical drugs the visit names, brand or generic."""
    table = lexicon()
    words = re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", dialogue.lower())
    found = set()
    for size in (1, 2, 3):
        for start in range(len(words) - size + 1):
            canonical = table.canonical(words[start : start + size])
            if canonical:
                found.add(canonical)
    return found


def inject_medication(rng: random.Random, sections: list[NoteSection], dialogue: str) -> Injected:
    table = lexicon()
    said = said_drugs(dialogue)
    options = []
    for where, text in statements_of(sections):
        for match in re.finditer(r"[A-Za-z][A-Za-z-]{3,}", text):
            canonical = table.canonical([match.group(0).lower()])
            if canonical and canonical in said:
                options.append((where, text, match))
    if not options:
        return None
    where, text, match = rng.choice(options)
    choices = [d for d in SWAP_DRUGS if table.canonical(d.lower().split()) not in (None, *said)]
    new = rng.choice(choices)
    return where, text[: match.start()] + new + text[match.end() :]


def _changed_number(rng: random.Random, value: str) -> str:
    number = float(value.replace(",", ""))
    if "." in value:
        step = rng.choice([0.3, 0.5, 0.8, 1.2, 1.5])
        new = number + step if rng.random() < 0.6 or number - step <= 0 else number - step
        return f"{new:.1f}"
    if number <= 10:
        new = number + rng.choice([1, 2, 3]) if rng.random() < 0.6 or number <= 3 else number - rng.choice([1, 2])
    elif number <= 100:
        new = number + rng.choice([-7, -5, -3, 4, 6, 9, 12])
    else:
        new = round(number * rng.choice([0.5, 0.75, 1.25, 1.5, 2]))
    new = max(new, 1)
    if new == number:
        new = number + 1
    return f"{int(new):,}" if "," in value else str(int(new))


def inject_dose(rng: random.Random, sections: list[NoteSection], dialogue: str) -> Injected:
    options = []
    for where, text in statements_of(sections):
        for match in re.finditer(r"(?<![\w./])(\d+(?:\.\d+)?)\s*" + DOSE_UNITS, text):
            options.append((where, text, match))
    if not options:
        return None
    where, text, match = rng.choice(options)
    return where, text[: match.start(1)] + _changed_number(rng, match.group(1)) + text[match.end(1) :]


def inject_number(rng: random.Random, sections: list[NoteSection], dialogue: str) -> Injected:
    options = []
    for where, text in statements_of(sections):
        if re.match(r"^\d+[.)]", text):
            continue
        for match in re.finditer(r"(?<![\w./-])(\d+(?:,\d{3})*(?:\.\d+)?)(?![\w]*\s*" + DOSE_UNITS + ")", text):
            after = text[match.end() : match.end() + 3]
            if re.match(r"[a-zA-Z]", after):  # 2nd, B12
                continue
            options.append((where, text, match))
    if not options:
        return None
    where, text, match = rng.choice(options)
    return where, text[: match.start(1)] + _changed_number(rng, match.group(1)) + text[match.end(1) :]


def inject_laterality(rng: random.Random, sections: list[NoteSection], dialogue: str) -> Injected:
    parts = "|".join(sorted((re.escape(p) for p in BODY_PARTS), key=len, reverse=True))
    pattern = re.compile(
        r"\b(left|right|Left|Right)(\s+(?:(?:upper|lower|medial|lateral|great|index|big)\s+)?(?:" + parts + r")\b)"
    )
    options = []
    for where, text in statements_of(sections):
        for match in pattern.finditer(text):
            options.append((where, text, match))
    if not options:
        return None
    where, text, match = rng.choice(options)
    side = match.group(1)
    flipped = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}[side]
    return where, text[: match.start(1)] + flipped + text[match.end(1) :]


_FLIPS = (
    (r"\bdenies\b", "reports"),
    (r"\bDenies\b", "Reports"),
    (r"\bdenied\b", "reported"),
    (r"\bnegative for\b", "positive for"),
    (r"\bNegative for\b", "Positive for"),
    (r"\bpositive for\b", "negative for"),
    (r"\bPositive for\b", "Negative for"),
    (r"\breports\b", "denies"),
    (r"\bReports\b", "Denies"),
    (r"\bendorses\b", "denies"),
    (r"\bEndorses\b", "Denies"),
    (r"\bcomplains of\b", "denies"),
    (r"\b(?:There is|there is) no\b", "there is"),
    (r"\bNo\b(?! known)", ""),
    (r"\bno\b(?! known| longer| further| change)", ""),
    (r"\bwithout\b", "with"),
    (r"\b(is|was|were) negative\b", r"\1 positive"),
    (r"\b(is|was|were) positive\b", r"\1 negative"),
    (r"\bhas (a|an|some|mild|moderate|severe)\b", r"does not have \1"),
)


def inject_negation(rng: random.Random, sections: list[NoteSection], dialogue: str) -> Injected:
    options = []
    for where, text in statements_of(sections):
        if re.search(r"\b(?:if|unless|should)\b", text, re.I):
            continue  # a condition, not a finding
        for pattern, replacement in _FLIPS:
            match = re.search(pattern, text)
            if match is None:
                continue
            after = words_of(text[match.end() : match.end() + 80])
            if after & set(SYMPTOM_WORDS):
                options.append((where, text, pattern, replacement))
            break
    if not options:
        return None
    where, text, pattern, replacement = rng.choice(options)
    new = re.sub(pattern, replacement, text, count=1)
    new = re.sub(r"\s{2,}", " ", new).strip()
    new = new[:1].upper() + new[1:]
    return where, new


def inject_unsupported(rng: random.Random, sections: list[NoteSection], dialogue: str) -> Injected:
    said = words_of(dialogue)
    findings = [
        f for f in INVENTED_FINDINGS if not (words_of(f) - {"a", "the", "in", "of", "on", "when", "after", "at"}) & said
    ]
    places = [where for where, _text in statements_of(sections)]
    if not findings or not places:
        return None
    finding = rng.choice(findings)
    where = rng.choice(places)
    template = rng.choice(
        (
            "The patient also reports {}.",
            "She also notes {}.",
            "He also reports {}.",
            "Positive for {}.",
            "The patient endorses {}.",
            "There is {}.",
        )
    )
    return (where[0], where[1] + 1), template.format(finding)


# --- whether a visit mentions a finding (negation flips) -----------------------------------------------------

_CLAUSE_END = re.compile(r"[.;:]|\b(?:but|however|although|which|who|because|since|secondary)\b", re.IGNORECASE)
_FINDING_FILLER = frozenset(
    _words(
        """
        reports reported denies denied endorses complains of positive negative for no not any with without has
        have had does did there is are was were a an the some his her their he she patient also recent recently
        significant specific new history current currently prior and or to in on at that this these those
        """
    )
)


def flipped_findings(before: str, after: str) -> list[set[str]]:
    """The findings of the clause a flip changed: each as the set of its words' first five letters."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    # from the word the change is in to the end of its clause
    start = after.rfind(" ", 0, start) + 1
    clause = _CLAUSE_END.split(after[start:], maxsplit=1)[0]
    findings = []
    symptoms = set(SYMPTOM_WORDS)
    for piece in re.split(r",|\bor\b|\band\b|\bnor\b", clause, flags=re.IGNORECASE):
        words = [w for w in re.findall(r"[a-z]+", piece.lower()) if w not in _FINDING_FILLER and len(w) > 2]
        # A finding is named by its symptom words ("pain" of "joint pain"), else by its last word.
        named = [w for w in words if w in symptoms] or words[-1:]
        if named:
            findings.append({w[:5] for w in named})
    return findings


def mentions(dialogue_turns: list[set[str]], finding: set[str]) -> bool:
    """Whether one turn of the visit holds every word of the finding (on their first five letters)."""
    return any(finding <= turn for turn in dialogue_turns)


def turn_prefixes(dialogue: str) -> list[set[str]]:
    return [{w[:5] for w in re.findall(r"[a-z]+", line.lower())} for line in dialogue.splitlines() if line.strip()]


INJECTORS = {
    "medication": inject_medication,
    "dose": inject_dose,
    "number": inject_number,
    "laterality": inject_laterality,
    "negation": inject_negation,
    "unsupported": inject_unsupported,
}


# --- baseline -------------------------------------------------------------------------------------------------

_BASE_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "he",
        "she",
        "his",
        "her",
        "they",
        "their",
        "patient",
        "reports",
        "states",
        "denies",
        "notes",
        "will",
        "we",
        "i",
        "that",
        "this",
        "as",
        "it",
        "any",
        "no",
        "not",
    ]
)


def baseline_flags(transcript_words: set[str], text: str) -> bool:
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _BASE_STOP]
    if not words:
        return False
    return sum(w in transcript_words for w in words) / len(words) < 0.5


# --- run ------------------------------------------------------------------------------------------------------


def flags_of(check: NoteCheck, where: tuple[int, int], sections: list[NoteSection]) -> tuple[Flag, ...]:
    position = 0
    for s_index, section in enumerate(sections):
        for t_index, _statement in enumerate(section.statements):
            if (s_index, t_index) == where:
                flags: tuple[Flag, ...] = check.statements[position].flags
                return flags
            position += 1
    return ()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(share * (len(ordered) - 1)), len(ordered) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="ACI-Bench CSV with dialogue and note columns")
    parser.add_argument("--per-kind", type=int, default=3, help="corrupted copies per note and kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=0, help="print this many missed corruptions per kind")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    encounters = load(args.data)
    lexicon()  # loaded once, outside the timings

    tallies = {kind: Tally() for kind in KINDS}
    original_statements = 0
    original_flagged = 0
    baseline_flagged = 0
    flagged_by_kind: dict[str, int] = {}
    checker_ms: list[float] = []
    baseline_ms: list[float] = []

    for encounter_id, dialogue, note in encounters:
        segments = parse_transcript(dialogue)
        sections = split_note(note)
        transcript_words = words_of(dialogue)

        started = time.perf_counter()
        original = check_note(segments, sections)
        checker_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        base_original = [baseline_flags(words_of(dialogue), s.text) for s in original.statements]
        baseline_ms.append((time.perf_counter() - started) * 1000)

        original_statements += len(original.statements)
        original_flagged += sum(1 for s in original.statements if s.flags)
        baseline_flagged += sum(base_original)
        for statement in original.statements:
            for kind in {str(flag.kind) for flag in statement.flags}:
                flagged_by_kind[kind] = flagged_by_kind.get(kind, 0) + 1
        by_text = {s.text: s for s in original.statements}

        index = TranscriptIndex.build(segments)
        turns = turn_prefixes(dialogue)
        for kind in KINDS:
            seen: set[str] = set()
            for _attempt in range(args.per_kind * 3):
                if len(seen) >= args.per_kind:
                    break
                injected = INJECTORS[kind](rng, sections, dialogue)
                if injected is None:
                    break
                where, text = injected
                if text in seen:
                    continue
                seen.add(text)
                if kind == "unsupported":
                    corrupted = inserted(sections, where, text)
                    before = None
                else:
                    corrupted = replaced(sections, where, text)
                    before = sections[where[0]].statements[where[1]].text
                check = check_note(index, corrupted)
                flags = flags_of(check, where, corrupted)
                tally = tallies[kind]
                tally.eligible += 1
                earlier = by_text[before].flags if before in by_text else ()
                kinds = {str(f.kind) for f in flags}
                # Whether an amount is a dose or another number depends on what it is attached to, which an
                # injector cannot always tell: the two kinds count for each other. A flag the original statement
                # already had (the same message) does not count; a new one about the changed words does.
                expected = {"dose", "number"} if kind in ("dose", "number") else {kind}
                old_messages = {f.message for f in earlier if str(f.kind) in expected}
                found = any(str(f.kind) in expected and f.message not in old_messages for f in flags)
                if kind == "negation" and before is not None:
                    findings = flipped_findings(before, text)
                    never_said = bool(findings) and not any(mentions(turns, finding) for finding in findings)
                    tally.never_said += never_said
                    old_unsupported = {f.message for f in earlier if str(f.kind) == "unsupported"}
                    unsupported = any(str(f.kind) == "unsupported" and f.message not in old_unsupported for f in flags)
                    tally.detected_or_unsupported += found or (never_said and unsupported)
                if found:
                    tally.detected += 1
                elif len(tally.examples) < args.show:
                    tally.examples.append(f"{encounter_id}: {before!r} -> {text!r} flags={sorted(kinds)}")
                if {f.message for f in flags} - {f.message for f in earlier}:
                    tally.detected_any += 1
                base_before = baseline_flags(transcript_words, before) if before else False
                if baseline_flags(transcript_words, text) and not base_before:
                    tally.baseline += 1

    print(f"data: {args.data} ({len(encounters)} encounters, {original_statements} statements), seed {args.seed}")
    print()
    print(f"{'kind':<12} {'corrupted':>9} {'detected':>9} {'any flag':>9} {'baseline':>9} {'ratio':>7}")
    for kind in KINDS:
        tally = tallies[kind]
        if not tally.eligible:
            print(f"{kind:<12} {0:>9}")
            continue
        share = tally.detected / tally.eligible
        any_share = tally.detected_any / tally.eligible
        base = tally.baseline / tally.eligible
        ratio = f"{share / base:.1f}x" if base else "n/a"
        print(f"{kind:<12} {tally.eligible:>9} {share:>9.1%} {any_share:>9.1%} {base:>9.1%} {ratio:>7}")
    negation = tallies["negation"]
    if negation.eligible:
        print(
            f"negation, counting unsupported where the visit never mentions the finding: "
            f"{negation.detected_or_unsupported / negation.eligible:.1%} "
            f"({negation.never_said} of {negation.eligible} flips are of findings never mentioned)"
        )
    print()
    share = original_flagged / original_statements
    base_share = baseline_flagged / original_statements
    print(f"original statements flagged: checker {share:.1%}, baseline {base_share:.1%}")
    print("  by kind: " + ", ".join(f"{k} {v / original_statements:.1%}" for k, v in sorted(flagged_by_kind.items())))
    print(
        f"time per note: checker p50 {statistics.median(checker_ms):.1f} ms, "
        f"p95 {percentile(checker_ms, 0.95):.1f} ms; "
        f"baseline p50 {statistics.median(baseline_ms):.2f} ms "
        f"({statistics.median(checker_ms) / max(statistics.median(baseline_ms), 1e-6):.0f}x the baseline's time)"
    )
    for kind in KINDS:
        for example in tallies[kind].examples:
            print(f"missed {kind}: {example}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
