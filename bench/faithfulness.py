"""How well the faithfulness checker finds errors put into real notes, and how often it flags faithful ones.

    .venv/bin/python bench/faithfulness.py [--data path/to/valid.csv] [--per-kind 3] [--seed 7] [--write]

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table, write_section
from notes.content import Flag
from notes.faithfulness.checker import NoteCheck, check_note
from notes.faithfulness.drugs import lexicon
from notes.faithfulness.note import NoteSection, NoteStatement, split_note
from notes.faithfulness.transcript import TranscriptIndex, parse_transcript

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "aci-bench-valid.csv"


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


def cpu_ms(run: Callable[[], object], repeat: int) -> float:
    """The CPU time of ``run`` in milliseconds, the least of ``repeat`` runs: other work on the machine (the
    figures come from a shared VM) counts less in CPU time than in wall-clock time, and least in the fastest run."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best * 1000


@dataclass
class Results:
    data: Path
    seed: int
    encounters: int
    statements: int
    tallies: dict[str, Tally]
    original_flagged: int
    baseline_flagged: int
    flagged_by_kind: dict[str, int]
    note_ms: list[float]  # the whole check: the transcript read, then every statement
    statements_ms: list[float]  # the statements alone, the transcript already read (a save's re-check)
    baseline_ms: list[float]
    repeat: int  # runs of each timed check, the fastest counted


def run(args: argparse.Namespace) -> Results:
    rng = random.Random(args.seed)
    encounters = load(args.data)
    lexicon()  # loaded once, outside the timings

    tallies = {kind: Tally() for kind in KINDS}
    original_statements = 0
    original_flagged = 0
    baseline_flagged = 0
    flagged_by_kind: dict[str, int] = {}
    note_ms: list[float] = []
    statements_ms: list[float] = []
    baseline_ms: list[float] = []

    for encounter_id, dialogue, note in encounters:
        segments = parse_transcript(dialogue)
        sections = split_note(note)
        transcript_words = words_of(dialogue)

        original = check_note(segments, sections)
        note_ms.append(cpu_ms(lambda: check_note(segments, sections), args.repeat))  # noqa: B023 - run at once
        index = TranscriptIndex.build(segments)
        statements_ms.append(cpu_ms(lambda: check_note(index, sections), args.repeat))  # noqa: B023
        base_original = [baseline_flags(words_of(dialogue), s.text) for s in original.statements]
        baseline_ms.append(
            cpu_ms(lambda: [baseline_flags(words_of(dialogue), s.text) for s in original.statements], args.repeat)  # noqa: B023
        )

        original_statements += len(original.statements)
        original_flagged += sum(1 for s in original.statements if s.flags)
        baseline_flagged += sum(base_original)
        for statement in original.statements:
            for kind in {str(flag.kind) for flag in statement.flags}:
                flagged_by_kind[kind] = flagged_by_kind.get(kind, 0) + 1
        by_text = {s.text: s for s in original.statements}

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

    return Results(
        args.data,
        args.seed,
        len(encounters),
        original_statements,
        tallies,
        original_flagged,
        baseline_flagged,
        flagged_by_kind,
        note_ms,
        statements_ms,
        baseline_ms,
        args.repeat,
    )


def kind_rows(results: Results) -> list[list[str]]:
    """Per kind: corrupted, found, any new flag, the baseline, the ratio of the checker's share to the baseline's."""
    rows = []
    for kind in KINDS:
        tally = results.tallies[kind]
        if not tally.eligible:
            rows.append([kind, "0", "", "", "", ""])
            continue
        share = tally.detected / tally.eligible
        base = tally.baseline / tally.eligible
        rows.append(
            [
                kind,
                str(tally.eligible),
                f"{share:.1%}",
                f"{tally.detected_any / tally.eligible:.1%}",
                f"{base:.1%}",
                f"{share / base:.1f}x" if base else "n/a",
            ]
        )
    return rows


def negation_line(results: Results) -> str:
    negation = results.tallies["negation"]
    if not negation.eligible:
        return ""
    return (
        f"negation, counting unsupported where the visit never mentions the finding: "
        f"{negation.detected_or_unsupported / negation.eligible:.1%} "
        f"({negation.never_said} of {negation.eligible} flips are of findings never mentioned)"
    )


def flagged_lines(results: Results) -> list[str]:
    share = results.original_flagged / results.statements
    base_share = results.baseline_flagged / results.statements
    by_kind = ", ".join(f"{k} {v / results.statements:.1%}" for k, v in sorted(results.flagged_by_kind.items()))
    return [f"original statements flagged: checker {share:.1%}, baseline {base_share:.1%}", f"  by kind: {by_kind}"]


def time_lines(results: Results) -> list[str]:
    note_p50 = statistics.median(results.note_ms)
    base_p50 = statistics.median(results.baseline_ms)
    return [
        f"time per note (CPU, best of runs): checker p50 {note_p50:.1f} ms, "
        f"p95 {percentile(results.note_ms, 0.95):.1f} ms; baseline p50 {base_p50:.2f} ms "
        f"({note_p50 / max(base_p50, 1e-6):.0f}x the baseline's time)",
        f"  of which the statements, the transcript already read: "
        f"p50 {statistics.median(results.statements_ms):.1f} ms, p95 {percentile(results.statements_ms, 0.95):.1f} ms",
    ]


def report(results: Results, show: int) -> None:
    print(
        f"data: {results.data} ({results.encounters} encounters, {results.statements} statements), seed {results.seed}"
    )
    print()
    print(f"{'kind':<12} {'corrupted':>9} {'detected':>9} {'any flag':>9} {'baseline':>9} {'ratio':>7}")
    for row in kind_rows(results):
        print(f"{row[0]:<12} {row[1]:>9} {row[2]:>9} {row[3]:>9} {row[4]:>9} {row[5]:>7}")
    if line := negation_line(results):
        print(line)
    print()
    for line in flagged_lines(results) + time_lines(results):
        print(line)
    for kind in KINDS:
        for example in results.tallies[kind].examples[:show]:
            print(f"missed {kind}: {example}")


SECTION = """
## Faithfulness checker

`bench/faithfulness.py` measures the checker (`notes/faithfulness/`) on ACI-Bench (Yim et al., 2023, CC BY 4.0;
the `valid.csv` split ships in `bench/data/`, see its README): each reference note is split into statements, and
copies are corrupted one statement at a time with a fixed seed: a drug swapped for another real drug the visit
never names, a dose or another number changed, left and right swapped, "denies" ↔ "reports" (or "no X" → "X",
"negative for" ↔ "positive for"), or a finding the visit never mentions added as a new statement. The corruptions
are chosen with the harness's own word lists, not the checker's. A corruption counts as found when the checker
raises a new flag of its kind on the changed statement (dose and number count for each other: an injector cannot
always tell a dose from another number). "Original statements flagged" is the share of the unchanged reference
statements with any flag. The baseline, measured in the same run, flags a statement when fewer than half of its
content words occur in the transcript.

A negation flip of a finding the visit never mentions (a review-of-systems line nobody asked about) contradicts
nothing: the right flag is `unsupported`. The harness reports negation twice: found as `negation` only, and
found as `negation` or, where the harness's own reading says the visit never mentions the finding (the symptom
words of each finding the flipped clause names, found together in no turn of the dialogue), as `unsupported`.
That reading is deliberately strict: a visit that says "pain" anywhere "mentions" a flipped "joint pain".

```
.venv/bin/python bench/faithfulness.py [--data valid.csv] [--per-kind 3] [--seed 7] [--show 10] [--write]
```

The checker was developed on `train.csv` (67 encounters). Up to revision 7fbf5ac only the summary figures of
`valid.csv` (20 encounters) were run; after it, its missed flips and flagged reference statements were also read,
to see which kinds of clinical language the checker still misread. Each change made since was checked on
`train.csv` (found as often or more over several seeds, no more reference statements flagged, or one), has unit
tests in wording of its own, and every threshold was chosen on `train.csv`.

Negation is read NegEx/ConText-style on both sides, the note's and the visit's: triggers before a finding ("no",
"denies", "negative for", "without", "free of", ...) and after it ("... is negative", "... were denied", "... not
present", "pain-free"), pseudo-negations that deny nothing ("no change", "not only", "gram negative"), scopes that
end at "but", "however", "except", "other than", "which", a verb of being and the end of a clause; and in the
visit, a question ("any chest pain?") settled by the answer on the next turn ("no", "nope", "not really", "uh-uh"
deny it; "yes", "yeah", "a little" affirm it; "not sure" leaves it open), an answer that takes up some findings of
a list leaving the others denied, "everything else is fine", a question about the past ("have you ever...?") kept
apart from the present, and "never ... before" (before this problem) never denying the problem of today; "can't
recall" denies, a denial stops at the event it is tied to ("at the time of the injury"), and a patient's direct
answer outweighs an aside in a long explanation.

What is missed is mostly not a contradiction of what was said: a flip of a phrase that names no finding ("denies
weight stability"), of a finding the visit never settles (asked, and answered with something else), or of a
statement the reference note itself holds against the dialogue; and what is flagged in faithful reference notes
is mostly what their dialogue never says (ages and vital signs from the encounter's metadata, exam findings
never spoken).

Time is CPU time per note, the least of {repeat} runs of each note (the VM is shared with other work), once the drug
lexicon is loaded (once per process, about half a second): the whole check, reading the transcript included, and
the statements alone with the transcript already read, which is what a clinician's save costs (the transcript as
read is kept per process while in use).
"""


def section_markdown(results: Results) -> str:
    lines = [
        SECTION.strip().replace("{repeat}", str(results.repeat)),
        "",
        f"`{results.data.name}`, seed {results.seed}, {results.encounters} encounters, "
        f"{results.statements} statements:",
        "",
    ]
    lines.append(table(["kind", "corrupted", "found", "any new flag", "baseline", "ratio"], kind_rows(results)))
    lines.append("")
    negation = results.tallies["negation"]
    if negation.eligible:
        lines.append(
            f"Negation counting `unsupported` where the visit never mentions the finding: "
            f"{negation.detected_or_unsupported / negation.eligible:.1%} ({negation.never_said} of "
            f"{negation.eligible} flips are of findings never mentioned)."
        )
        lines.append("")
    share = results.original_flagged / results.statements
    base_share = results.baseline_flagged / results.statements
    by_kind = ", ".join(f"{k} {v / results.statements:.1%}" for k, v in sorted(results.flagged_by_kind.items()))
    lines.append(
        f"Original statements flagged: {share:.1%} ({results.original_flagged} of {results.statements}; by kind: "
        f"{by_kind}); the baseline flags {base_share:.1%}."
    )
    lines.append("")
    lines.append(
        table(
            ["time per note (CPU)", "p50", "p95"],
            [
                [
                    "whole check (transcript read + statements)",
                    f"{statistics.median(results.note_ms):.1f} ms",
                    f"{percentile(results.note_ms, 0.95):.1f} ms",
                ],
                [
                    "statements, transcript already read",
                    f"{statistics.median(results.statements_ms):.1f} ms",
                    f"{percentile(results.statements_ms, 0.95):.1f} ms",
                ],
                [
                    "baseline (word overlap)",
                    f"{statistics.median(results.baseline_ms):.2f} ms",
                    f"{percentile(results.baseline_ms, 0.95):.2f} ms",
                ],
            ],
        )
    )
    lines.append("")
    lines.append(targets_paragraph(results))
    lines.append("")
    lines.append(BEFORE.strip())
    return "\n".join(lines)


# What the checker is asked to reach: the share of corruptions found per kind, the share of faithful statements
# flagged at most, and the time per note.
TARGETS = {"medication": 0.9, "dose": 0.9, "number": 0.9, "laterality": 0.8, "negation": 0.8, "unsupported": 0.8}
MAX_FLAGGED = 0.10
TARGET_MS = 4.0

BEFORE = """
At revision 70f30f6 the same run gave negation 79.6 % (43 of 54) with 8.8 % of the reference statements flagged.
What changed since: proximal and distal, anterior and posterior are opposite ends of a part, as medial and
lateral are ("tenderness over your distal phalanx" says nothing of the proximal one, which the same turn
denies); "q6h" as speech-to-text writes it down ("q.6 h.", "q 6 hours") is every six hours; a range said backs
only a range with the same ends ("20 to 30 miles" does not back "20 to 23"), and "6-to-8-week" is a range; a
question asked mid-turn in speech written without "?" asks rather than says, up to the answer's first words; a
finding a doctor names alone ("okay coughing headache") with no answer is asked, not said; and the words quoted as
said start at the sentence they are in. On `train.csv` numbers found rose at seeds 3 and 11 (92.5 % to 93.0 %,
88.6 % to 89.6 %), the reference statements flagged fell from 5.8 % to 5.7 %, and every other figure stayed the
same (seeds 3, 7 and 11). Other seeds of `valid.csv` show how much one run's figures move: negation 75.9 % at
seed 3 and 79.6 % at seed 11, numbers 93.3 % and 88.3 %, with 8.6 % of reference statements flagged at both.

At revision 7fbf5ac the same run gave negation 75.9 % (79.6 % counting `unsupported` where the visit never
mentions the finding, 81.5 % any new flag) with 9.5 % of the reference statements flagged. What changed since:
injuries and trauma are findings a note affirms or denies; "can't recall" and "don't remember" deny; a list of
findings asked with a question mark is a question however many commas it has (it was read as said, which
flagged faithful denials); a finding under a place's label ("NECK: no swelling") is about that place; an answer
to "have you ... before?" speaks of the past before this problem; a patient's direct answer outweighs an aside
in a turn of more than 20 tokens; a statement's context counts up to 15 words from a mention (was 10); "as well
as" continues a denied list; an organ said to be enlarged is its clinical finding ("enlarged thyroid" is
thyromegaly); and a finding the note places where the visit never goes ("pain in her left shoulder" in a visit
about a knee) is `unsupported`. Sides: "the right hand side" is a side, not a hand, and "pain in my right back" a
side of the back ("I'll be right back" is not). Numbers: "type 2 diabetes" is the disease's name, contradicted
only by a type the visit says (a type no such disease has is still flagged); "rales" are crackles, and "fine
crackles" is a finding, not a fine lung. On `train.csv` (seed 7) negation went from 80.8 % to 84.1 %, laterality
from 79.2 % to 81.2 % and unsupported from 96.0 % to 96.5 %, with 5.8 % of the reference statements flagged before
and after; on `valid.csv` the reference statements flagged went from 9.5 % to 8.8 %. The time is unchanged: run
alternately with revision 7fbf5ac on the same machine, the whole check's p50 was 6.2 to 6.6 ms for both.

Before that, the round of work on negation and speed that ended at revision 7fbf5ac took negation from 74.1 % and
the whole check from p50 14.3 to 14.8 ms (statements alone 7.2 to 7.4 ms), run alternately on the same machine,
to 7.8 to 7.9 ms (4.0 to 4.2 ms); counted in instructions (valgrind, every note of `train.csv`), 130 million per
note then, 61 million after. The time saved is in reading: tokens made in one pass over the text, only the words
that can start a negation, a drug name or an amount looked at, the visit's words, turns and clause breaks looked
up once per note rather than once per statement, and the cyclic garbage collector held off while a note is
checked. What is left is Python's work per token, about 2,000 tokens a note, which the few milliseconds aimed at
would need to halve again.
"""


def targets_paragraph(results: Results) -> str:
    met: list[str] = []
    missed: list[str] = []
    for kind, target in TARGETS.items():
        tally = results.tallies[kind]
        if not tally.eligible:
            continue
        share = tally.detected / tally.eligible
        (met if share >= target else missed).append(f"{kind} {share:.1%} (target {target:.0%})")
    flagged = results.original_flagged / results.statements
    (met if flagged <= MAX_FLAGGED else missed).append(
        f"reference statements flagged {flagged:.1%} (at most {MAX_FLAGGED:.0%})"
    )
    p50 = statistics.median(results.note_ms)
    (met if p50 <= TARGET_MS else missed).append(
        f"whole check p50 {p50:.1f} ms (a few milliseconds, {TARGET_MS:.0f} ms)"
    )
    text = "Against the targets: met, " + "; ".join(met) + "."
    if missed:
        text += " Not met: " + "; ".join(missed) + "."
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="ACI-Bench CSV with dialogue and note columns (default: %(default)s)",
    )
    parser.add_argument("--per-kind", type=int, default=3, help="corrupted copies per note and kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=0, help="print this many missed corruptions per kind")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed check; the fastest counts")
    parser.add_argument(
        "--write", action="store_true", help='replace the "faithfulness" section of docs/performance.md'
    )
    args = parser.parse_args()

    results = run(args)
    report(results, args.show)
    if args.write:
        write_section("faithfulness", section_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
