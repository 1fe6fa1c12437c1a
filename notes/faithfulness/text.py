"""Tokens, a light stemmer and the clinical synonym table shared by every detector.

The stemmer is deliberately small and predictable (plural, -ing, -ed, -ly, -ness): detectors compare a note
with the words a person said, where "pains", "painful" and "pain" must meet but a reader must still be able to
tell why two words matched. Synonyms are phrases, matched on stems, that map lay and clinical wording to one
concept token ("short of breath", "SOB" and "dyspnea" are all ``dyspnea``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_TOKEN_RE = re.compile(
    r"\d+(?:,\d{3})+(?:\.\d+)?"  # 2,000
    r"|\d*\.\d+|\d+"  # 7.2, .5, 40
    r"|[a-z]+(?:['\u2019][a-z]+)*"  # words, it's, i'm
    r"|n['\u2019]t"  # the split "do n't" of some transcripts
    r"|[^\sa-z0-9]",
    re.IGNORECASE,
)
# "a1c", "b12", "covid19", "l4": letters then digits are names, not quantities.
_ALNUM_RE = re.compile(r"[a-z]+\d+[a-z0-9]*", re.IGNORECASE)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a visit has thousands of tokens.
@dataclass(slots=True)
class Token:
    text: str  # lower-cased as written
    start: int  # character offsets in the source text
    end: int
    stem: str  # stem, or the concept a synonym phrase maps to
    is_word: bool = False
    is_number: bool = False


_PATTERN = re.compile(_ALNUM_RE.pattern + "|" + _TOKEN_RE.pattern, re.IGNORECASE)
# Every character that is not white space belongs to a token, so a text is white space and tokens in turn: one
# ``findall`` reads them all, and each token's offsets are the running sum of their lengths.
# The same tokens, written for lower-cased text and without backtracking: a word's letters are read once, then
# either digits ("b12", "a1c") or apostrophes ("it's") may follow.
_SPACED_PATTERN = re.compile(
    r"(\s*)([a-z]+(?:\d[a-z0-9]*|(?:['\u2019][a-z]+)*)|\d+(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+|[^\sa-z0-9])"
)


def _classify(raw: str) -> tuple[str, bool, bool, bool]:
    """A token's stem, whether it is a word, whether it is a number, and whether a synonym phrase starts with it."""
    first = raw[:1]
    stem_ = stem(raw)
    is_word = first.isalpha() or raw.startswith("n'")
    return stem_, is_word, first.isdigit() or (first == "." and len(raw) > 1), stem_ in _PHRASE_STARTS


_CLASSES: dict[str, tuple[str, bool, bool, bool]] = {}  # _classify's answers, looked up without a call


def tokenize(text: str) -> list[Token]:
    """Words, numbers and punctuation with their offsets; synonym phrases carry their concept as stem."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)  # keep the offsets
    if "\u2019" in lowered:
        lowered = lowered.replace("\u2019", "'")
    tokens: list[Token] = []
    append = tokens.append
    classes = _CLASSES
    phrase_starts: list[int] = []  # the tokens a synonym phrase may start with
    position = 0
    for space, raw in _SPACED_PATTERN.findall(lowered):
        position += len(space)
        end = position + len(raw)
        known = classes.get(raw)
        if known is None:
            known = _classify(raw)
            if len(classes) < 65536:
                classes[raw] = known
        if known[3]:
            phrase_starts.append(len(tokens))
        append(Token(raw, position, end, known[0], known[1], known[2]))
        position = end
    if phrase_starts:
        _apply_synonyms(tokens, phrase_starts, "-" in lowered)
    return tokens


def word_list(text: str) -> list[str]:
    """The words of a long literal, one or many per line."""
    return text.split()


# --- stemming -------------------------------------------------------------------------------------------------

_IRREGULAR = {
    "swollen": "swell",
    "threw": "throw",
    "thrown": "throw",
    "felt": "feel",
    "heard": "hear",
    "fell": "fall",
    "fallen": "fall",
    "broke": "break",
    "broken": "break",
    "hurt": "hurt",
    "hurts": "hurt",
    "feet": "foot",
    "teeth": "tooth",
    "children": "child",
    "kids": "child",
    "kid": "child",
    "men": "man",
    "women": "woman",
    "ate": "eat",
    "eaten": "eat",
    "lying": "lie",
    "laying": "lie",  # "laying flat" as said for "lying flat"
    "slept": "sleep",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "began": "begin",
    "begun": "begin",
    "worse": "worse",
    "worst": "worse",
    "better": "better",
    "best": "better",
    "was": "be",
    "were": "be",
    "is": "be",
    "are": "be",
    "been": "be",
    "am": "be",
    "has": "have",
    "had": "have",
    "does": "do",
    "did": "do",
    "done": "do",
    "this": "this",
    "his": "his",
    "yes": "yes",
    "always": "always",
    "diabetes": "diabet",
    "diabetic": "diabet",
    "analysis": "analysis",
    "diagnosis": "diagnos",
    "diagnoses": "diagnos",
    "diagnosed": "diagnos",
    "prognosis": "prognos",
    "stenosis": "stenos",
    "sepsis": "sepsis",
    "arthritis": "arthritis",
    "bronchitis": "bronchitis",
    "tendinitis": "tendinitis",
    "tendonitis": "tendinitis",
    "bursitis": "bursitis",
    "psoriasis": "psoriasis",
    "lupus": "lupus",
    "virus": "virus",
    "viruses": "virus",
    "status": "status",
    "focus": "focus",
    "plus": "plus",
    "less": "less",
    "gas": "gas",
    "news": "news",
    "nauseous": "nausea",
    "nauseated": "nausea",
    "dizziness": "dizzy",
    "dizzier": "dizzy",
    "tiredness": "tired",
    "numbness": "numb",
    "weakness": "weak",
    "tenderness": "tender",
    "soreness": "sore",
    "stiffness": "stiff",
    "redness": "red",
    "painful": "pain",
    "painless": "painless",
    "itchy": "itch",
    "itchiness": "itch",
    "itching": "itch",
    "bleeding": "bleed",
    "bled": "bleed",
    "blood": "blood",
    "bloody": "blood",
    "breathing": "breath",
    "breathe": "breath",
    "breaths": "breath",
    "anxious": "anxiety",
    "depressed": "depress",
    "depression": "depress",
    "depressive": "depress",
    "inflamed": "inflam",
    "inflammation": "inflam",
    "inflammatory": "inflam",
    "swelling": "swell",
    "swelled": "swell",
    "swells": "swell",
}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: enough for "pains"/"pain", "swelling"/"swell", never clever."""
    word = word.lower()
    if word.endswith(("'s", "\u2019s")):
        word = word[:-2]
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if not word.isalpha() or len(word) <= 3:
        return word
    for suffix, replacement in (("iness", "y"), ("ness", ""), ("fully", ""), ("ful", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + replacement
            break
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        word = word[:-1]
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ing", "ed", "edly", "ingly"):
                if len(base) >= 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                    base = base[:-1]
                elif base.endswith("i"):
                    base = base[:-1] + "y"
            word = base
            break
    if word.endswith("e") and len(word) > 4 and not word.endswith(("ee", "ie", "ue", "oe")):
        word = word[:-1]
    return word


# --- synonyms -------------------------------------------------------------------------------------------------

# Each concept lists phrases that mean the same thing in a visit: a clinician's word and a patient's. The
# phrases are stemmed when the table is built, so "short of breath" also matches "shortness of breath".
SYNONYMS: dict[str, tuple[str, ...]] = {
    "dyspnea": (
        "dyspnea",
        "shortness of breath",
        "short of breath",
        "sob",
        "trouble breathing",
        "difficulty breathing",
        "hard to breathe",
        "breathless",
        "breathlessness",
        "winded",
        "out of breath",
        "can't catch my breath",
        "catch my breath",
        "catch your breath",
        "winded easily",
    ),
    "fever": (
        "fever",
        "fevers",
        "febrile",
        "feverish",
        "running a temperature",
        "had a temperature",
        "have a temperature",
        "afebrile",
    ),
    "chill": ("chills", "chill", "rigors"),
    "nausea": ("nausea", "nauseous", "nauseated", "queasy", "sick to my stomach", "sick to your stomach"),
    "vomit": ("vomiting", "vomit", "vomited", "throwing up", "throw up", "threw up", "thrown up", "emesis", "puking"),
    "diarrhea": ("diarrhea", "loose stools", "loose stool", "watery stools", "runny stools"),
    "constipat": ("constipation", "constipated", "hard stools"),
    "abdomen": ("abdominal", "abdomen", "belly", "stomach", "tummy"),
    "headache": ("headache", "headaches", "head ache", "head hurts", "head pain", "cephalgia"),
    "dizzy": (
        "dizziness",
        "dizzy",
        "lightheaded",
        "light headed",
        "lightheadedness",
        "vertigo",
        "woozy",
        "room spinning",
        "room is spinning",
    ),
    "fatigue": (
        "fatigue",
        "fatigued",
        "tired",
        "tiredness",
        "exhausted",
        "exhaustion",
        "lethargic",
        "lethargy",
        "low energy",
        "no energy",
        "worn out",
    ),
    "edema": ("edema", "swelling", "swollen", "swell", "swelled", "puffy", "puffiness", "fluid retention"),
    "erythema": ("erythema", "erythematous", "redness", "reddened"),
    "tender": (
        "tender",
        "tenderness",
        "pain to palpation",
        "pain on palpation",
        "pain with palpation",
        "ttp",
        "nontender",
        "non tender",
    ),
    "dysuria": (
        "dysuria",
        "burning with urination",
        "burning when i pee",
        "burning when you pee",
        "burns when i pee",
        "burns when you pee",
        "painful urination",
        "pain with urination",
        "pain when i pee",
        "hurts to pee",
        "hurts when i pee",
        "burning when you urinate",
        "burning when i urinate",
        "burning on urination",
        "burning urination",
        "burns when i urinate",
        "burns when you urinate",
        "pain when you urinate",
        "pain when i urinate",
        "painful to urinate",
        "hurts to urinate",
    ),
    "night_sweats": (
        "night sweats",
        "sweating at night",
        "sweats at night",
        "sweaty at night",
        "wake up sweating",
        "waking up sweating",
        "woke up sweating",
    ),
    "hemoptysis": ("hemoptysis", "coughing up blood", "cough up blood", "coughed up blood"),
    "heartburn": ("heartburn", "heart burn", "acid reflux", "reflux", "indigestion", "gerd"),
    "pain": (
        "pain",
        "pains",
        "painful",
        "hurt",
        "hurts",
        "hurting",
        "ache",
        "aches",
        "aching",
        "achy",
        "sore",
        "soreness",
        "discomfort",
        "killing me",
    ),
    "cough": ("cough", "coughing", "coughs"),
    "syncope": (
        "syncope",
        "syncopal",
        "passed out",
        "pass out",
        "passing out",
        "fainted",
        "faint",
        "fainting",
        "blacked out",
        "black out",
        "lost consciousness",
        "loss of consciousness",
    ),
    "palpitation": (
        "palpitations",
        "palpitation",
        "palpitating",
        "palpitate",
        "heart racing",
        "racing heart",
        "heart pounding",
        "pounding heart",
        "fluttering",
        "flutter",
        "skipped beats",
        "heart beating fast",
        "fast heartbeat",
        "heart skipping",
    ),
    "numb": ("numbness", "numb"),
    "tingl": ("tingling", "tingly", "pins and needles", "paresthesia", "paresthesias"),
    "weak": ("weakness", "weak"),
    "insomnia": (
        "insomnia",
        "trouble sleeping",
        "difficulty sleeping",
        "can't sleep",
        "cannot sleep",
        "unable to sleep",
        "hard to sleep",
        "hard time sleeping",
        "problems sleeping",
        "affecting my sleep",
        "keeps me up at night",
        "kept me up",
        "keeping me up",
        "wakes me up",
        "waking up at night",
    ),
    "suicidal_ideation": (
        "suicidal ideation",
        "suicidal ideations",
        "suicidal thoughts",
        "suicidal",
        "thoughts of suicide",
        "suicide",
        "kill yourself",
        "kill myself",
        "killing myself",
        "killing yourself",
        "harm yourself",
        "harming yourself",
        "thoughts of hurting yourself",
        "want to hurt yourself",
        "wanting to hurt yourself",
        "want to hurt myself",
        "end your life",
        "end my life",
        "harm myself",
        "want to die",
        "wanted to die",
        "better off dead",
        "not want to be here",
        "not wanting to be here",
    ),
    "self_harm": (
        "self harm",
        "self-harm",
        "self harming",
        "self injury",
        "cutting myself",
        "cut myself",
        "cutting yourself",
        "burning myself",
        "burned myself on purpose",
    ),
    "homicidal_ideation": (
        "homicidal ideation",
        "homicidal ideations",
        "homicidal thoughts",
        "homicidal",
        "hurt others",
        "harm others",
        "hurting others",
        "harming others",
        "hurt anyone",
        "hurt someone",
        "hurt somebody",
        "harm anyone",
    ),
    "anxiety": ("anxiety", "anxious", "nervous", "nervousness"),
    "depress": ("depression", "depressed", "depressive", "feeling down"),
    "hypertension": ("hypertension", "high blood pressure", "htn", "elevated blood pressure"),
    "hyperlipidemia": ("hyperlipidemia", "high cholesterol", "dyslipidemia", "elevated cholesterol"),
    "diabet": ("diabetes", "diabetic", "diabetes mellitus", "dm", "sugar diabetes"),
    "heart_failure": ("heart failure", "congestive heart failure", "chf", "hfref", "hfpef"),
    "myocardial_infarction": ("myocardial infarction", "heart attack", "mi", "stemi", "nstemi"),
    "stroke": ("stroke", "cva", "cerebrovascular accident"),
    "kidney": ("kidney", "kidneys", "renal"),
    "liver": ("liver", "hepatic"),
    "heart": ("heart", "cardiac"),
    "lung": ("lung", "lungs", "pulmonary"),
    "walk": ("walking", "walk", "ambulation", "ambulating", "ambulate", "ambulatory", "gait"),
    "medial": ("medial", "medially", "inside", "inner"),
    "lateral": ("lateral", "laterally", "outside", "outer"),
    "xray": ("x-ray", "x ray", "xray", "x-rays", "radiograph", "radiographs", "films"),
    "blood_pressure": ("blood pressure", "bp", "blood pressures"),
    "heart_rate": ("heart rate", "pulse", "hr"),
    "oxygen_saturation": (
        "oxygen saturation",
        "o2 sat",
        "o2 sats",
        "sats",
        "pulse ox",
        "spo2",
        "oxygen level",
        "oxygen levels",
    ),
    "urin": ("urine", "urinary", "urination", "urinate", "urinating", "pee", "peeing"),
    "hematuria": (
        "hematuria",
        "blood in the urine",
        "blood in my urine",
        "blood in your urine",
        "blood in my pee",
        "blood in your pee",
        "blood when i pee",
        "blood when you pee",
    ),
    "sleep": ("sleep", "sleeping", "slept"),
    "exercis": ("exercise", "exercising", "working out", "work out", "workout", "workouts", "gym"),
    "medication": (
        "medication",
        "medications",
        "medicine",
        "medicines",
        "meds",
        "pill",
        "pills",
        "drug",
        "drugs",
        "prescription",
        "prescriptions",
    ),
    "elevat": ("elevated", "elevation", "high", "higher", "raised", "increased"),
    "decreas": ("decreased", "decrease", "low", "lower", "reduced", "diminished"),
    "fracture": ("fracture", "fractures", "fractured", "broken", "broke"),
    "bruis": ("bruise", "bruising", "bruised", "ecchymosis", "contusion"),
    "wheez": ("wheeze", "wheezing", "wheezes"),
    "crackles": ("crackles", "crackle", "crackling", "rales", "rale"),
    "rash": ("rash", "rashes", "hives", "breakout"),
    "itch": ("itch", "itching", "itchy", "pruritus", "pruritic"),
    "vision_change": (
        "vision changes",
        "visual changes",
        "blurred vision",
        "blurry vision",
        "vision change",
        "changes in vision",
        "changes in your vision",
    ),
    "weight_loss": (
        "weight loss",
        "lost weight",
        "losing weight",
        "lose weight",
        "lost some weight",
        "lost a little weight",
        "lost a lot of weight",
        "lost a bit of weight",
        "losing some weight",
        "lost any weight",
        "lose any weight",
        "losing any weight",
        "dropped weight",
    ),
    "weight_gain": (
        "weight gain",
        "gained weight",
        "gaining weight",
        "put on weight",
        "gained some weight",
        "gained a little weight",
        "gained a lot of weight",
        "put on some weight",
        "gained any weight",
        "gain any weight",
        "gaining any weight",
        "put on any weight",
    ),
    "myalgia": (
        "myalgia",
        "myalgias",
        "body aches",
        "body ache",
        "muscle aches",
        "muscle ache",
        "muscle pain",
        "muscle pains",
        "muscle soreness",
        "achy all over",
    ),
    "chest_pain": (
        "chest pain",
        "chest pains",
        "chest discomfort",
        "chest pressure",
        "chest tightness",
        "angina",
        "chest hurts",
        "chest hurt",
        "chest hurting",
        "pain in my chest",
        "pain in your chest",
        "pain in the chest",
        "tightness in my chest",
        "tightness in your chest",
        "pressure in my chest",
        "pressure in your chest",
    ),
    "ear": ("ear", "ears", "otic"),
    "eye": ("eye", "eyes", "ocular"),
    "nasal": ("nasal", "nose"),
    "congest": ("congestion", "congested", "stuffy", "stuffed up"),
    "bowel": ("bowel", "bowels", "stool", "stools", "bowel movement", "bowel movements"),
    "throat": ("throat", "pharynx", "pharyngeal"),
    "bleed": ("bleeding", "bleed", "bled", "hemorrhage"),
    "lower_extremity": ("lower extremity", "lower extremities", "leg", "legs"),
    "upper_extremity": ("upper extremity", "upper extremities", "arm", "arms"),
    "both": ("both", "bilateral", "bilaterally", "both sides"),
    "stiff": ("stiffness", "stiff"),
    "dysphagia": (
        "dysphagia",
        "difficulty swallowing",
        "trouble swallowing",
        "hard to swallow",
        "painful swallowing",
        "odynophagia",
    ),
    "polyuria": (
        "polyuria",
        "peeing a lot",
        "urinating a lot",
        "frequent urination",
        "urinating frequently",
        "urinate a lot",
        "urinate more",
    ),
    "polydipsia": ("polydipsia", "thirsty", "excessive thirst", "drinking a lot of water"),
    "orthopnea": (
        "orthopnea",
        "short of breath lying down",
        "short of breath lying flat",
        "shortness of breath lying flat",
        "trouble breathing lying flat",
        "trouble breathing lying down",
        "problems lying flat",
        "problem lying flat",
        "trouble lying flat",
        "difficulty lying flat",
        "sleep propped up",
    ),
    "hematochezia": (
        "hematochezia",
        "blood in stool",
        "blood in my stool",
        "blood in the stool",
        "blood in your stool",
        "blood in the stools",
        "blood in my stools",
        "blood in your stools",
        "bloody stool",
        "bloody stools",
        "rectal bleeding",
    ),
    "melena": ("melena", "black stool", "black stools", "tarry stool", "tarry stools"),
    "epistaxis": ("epistaxis", "nosebleed", "nosebleeds", "nose bleed", "nose bleeds"),
    "diaphoresis": ("diaphoresis", "diaphoretic", "sweating", "sweaty", "sweats"),
    "rhinorrhea": ("rhinorrhea", "runny nose", "nose running"),
    "photophobia": ("photophobia", "sensitive to light", "light sensitivity", "sensitivity to light"),
    "tinnitus": ("tinnitus", "ringing in my ears", "ringing in your ears", "ringing in the ears", "ear ringing"),
    "warm": ("warmth", "warm", "hot to the touch", "feels hot"),
    "effusion": ("effusion", "effusions", "fluid on the knee", "fluid in the knee", "water on the knee"),
    "cramp": ("cramp", "cramps", "cramping"),
    # an organ "enlarged", as said at the bedside
    "thyromegaly": (
        "thyromegaly",
        "goiter",
        "thyroid enlargement",
        "enlarged thyroid",
        "enlargement of the thyroid",
        "enlargement of your thyroid",
    ),
    "hepatomegaly": (
        "hepatomegaly",
        "enlarged liver",
        "liver enlargement",
        "enlargement of the liver",
        "enlargement of your liver",
    ),
    "splenomegaly": ("splenomegaly", "enlarged spleen", "spleen enlargement", "enlargement of the spleen"),
    "lymphadenopathy": (
        "lymphadenopathy",
        "adenopathy",
        "swollen lymph nodes",
        "enlarged lymph nodes",
        "swollen lymph node",
        "enlarged lymph node",
        "swollen glands",
        "lymph node enlargement",
    ),
    "physical_therapy": ("physical therapy", "physiotherapy"),
    "injury": ("injury", "injuries", "injured", "injure", "injuring", "trauma", "traumatic"),
    "pop": ("pop", "popped", "popping", "snap", "snapped"),
    "follow_up": (
        "follow up",
        "follow-up",
        "followup",
        "come back",
        "see you back",
        "see you again",
        "come see me",
        "come back and see me",
        "recheck",
        "check back",
    ),
}


def _build_synonyms() -> dict[tuple[str, ...], str]:
    phrases_to_concepts: dict[tuple[str, ...], str] = {}
    for concept, phrases in SYNONYMS.items():
        for phrase in phrases:
            stems = tuple(stem(match.group(0).lower()) for match in _TOKEN_RE.finditer(phrase))
            stems = tuple(s for s in stems if s != "-")
            if stems:
                phrases_to_concepts.setdefault(stems, concept)
    return phrases_to_concepts


_SYNONYM_PHRASES = _build_synonyms()
_LONGEST_PHRASE = max((len(stems) for stems in _SYNONYM_PHRASES), default=1)
# The lengths of the phrases starting with each stem, longest first: most tokens start none, and cost one look-up.
# A one-word phrase that is its own concept ("fever", "pain") changes nothing and is left out.
_PHRASE_STARTS: dict[str, tuple[int, ...]] = {}
for _stems, _concept in _SYNONYM_PHRASES.items():
    if len(_stems) == 1 and _stems[0] == _concept:
        continue
    _PHRASE_STARTS[_stems[0]] = tuple(sorted({*_PHRASE_STARTS.get(_stems[0], ()), len(_stems)}, reverse=True))


def apply_synonyms(tokens: list[Token]) -> list[Token]:
    """Give every token of a synonym phrase the phrase's concept as its stem (longest phrase first).

    Hyphens are skipped while matching, so "self-harm" and "x-ray" meet "self harm" and "x ray".
    """
    candidates = [position for position, token in enumerate(tokens) if token.stem in _PHRASE_STARTS]
    if candidates:
        _apply_synonyms(tokens, candidates, any(token.text == "-" for token in tokens))
    return tokens


def _apply_synonyms(tokens: list[Token], candidates: list[int], hyphens: bool) -> None:
    """``apply_synonyms`` from the tokens a phrase may start with; ``hyphens``: whether any token may be "-"."""
    starts = _PHRASE_STARTS
    phrases = _SYNONYM_PHRASES
    after = 0  # where the last phrase found ends
    if not (hyphens and any(token.text == "-" for token in tokens)):
        count = len(tokens)
        for index in candidates:
            if index < after:
                continue
            for length in starts[tokens[index].stem]:
                if index + length > count:
                    continue
                concept = phrases.get(tuple([token.stem for token in tokens[index : index + length]]))
                if concept is None:
                    continue
                for token in tokens[index : index + length]:
                    # The function words of a phrase ("of" in "shortness of breath") become part of the concept
                    # too, so that a phrase counts once however many words it has.
                    token.stem = concept
                after = index + length
                break
        return
    kept = [position for position, token in enumerate(tokens) if token.text != "-"]
    where = {position: index for index, position in enumerate(kept)}
    stems = [tokens[position].stem for position in kept]
    for index in [where[position] for position in candidates]:
        if index < after:
            continue
        for length in starts[stems[index]]:
            if index + length > len(kept):
                continue
            concept = phrases.get(tuple(stems[index : index + length]))
            if concept is None:
                continue
            for position in kept[index : index + length]:
                tokens[position].stem = concept
            after = index + length
            break


# --- word classes ---------------------------------------------------------------------------------------------

STOPWORDS = frozenset(
    word_list(
        """
        a an the and or nor but if then than that this these those there here of to in on at by for with from
        into onto about as so too very just also only even still again ever yet already i me my mine myself we
        us our ours you your yours yourself he him his himself she her hers herself it its itself they them
        their theirs themselves what which who whom whose when where why how all any both each few more most
        other some such own same can will would shall should may might must do does did doing done be is am
        are was were been being have has had having get gets got getting go goes going gon gonna na wan wanna
        ta gotta let lets um uh uhm hmm mm mhm hm ah oh okay ok alright right well yeah yes yep yup sure like
        know think mean see really kind sort thing things stuff lot lots bit little much many one ones
        something anything nothing everything someone anyone everyone somebody anybody now today then s t d ll
        m re ve n't 's 'm 're 've 'll 'd
        """
    )
)

# Words a note uses to frame what was said rather than to say something about the patient; they are never
# evidence of an invented finding.
BOILERPLATE = frozenset(
    stem(word)
    for word in word_list(
        """
        patient patients pt client mr mrs ms miss dr doctor physician provider nurse clinician report reports
        reported reporting state states stated stating note notes noted noting says said describe describes
        described endorse endorses endorsed deny denies denied admit admits present presents presented
        presenting complain complains complained complaint complaints history past medical significant
        evaluation evaluate evaluated management manage follow plan plans planned planning continue continues
        continued discuss discussed discussion recommend recommended recommendation advise advised advice
        counsel counseled counseling educate educated education explained explain understand understands
        understanding agree agrees agreement agreements question questions answered treatment treat treated
        therapy reasoning assessment additional testing order ordered ordering will would today visit
        appointment office clinic exam examination currently current recent recently previously previous prior
        time times day days week weeks month months year years also well good fine normal new old further
        regarding regards given due since per including include includes includes other others year-old female
        male woman man lady gentleman level levels status year old age aged approximately about around roughly
        start started starting initiate initiated begin begun refer referral referred take taking takes took
        utilize utilizing utilized use using used review reviewed reviewing show shows showed shown
        demonstrate demonstrates demonstrated reveal reveals revealed indicate indicates indicated consistent
        result results finding findings symptom symptoms sign signs problem problems issue issues concern
        concerns concerned mg mcg ml dl g kg lb lbs unit units iu daily twice once
        """
    )
)

NEGATION_WORDS = frozenset({"no", "not", "n't", "never", "without", "none", "nor", "neither", "denies", "denied"})


def content_stems(tokens: Sequence[Token]) -> list[str]:
    """The stems that carry meaning: no stopwords, punctuation or numbers."""
    return [
        token.stem
        for token in tokens
        if token.is_word and token.text not in STOPWORDS and token.stem not in STOPWORDS and len(token.stem) > 1
    ]


def sentence_spans(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """Token index ranges of sentences, split at . ? ! and ; (a transcript turn may hold several)."""
    spans: list[tuple[int, int]] = []
    begin = 0
    for index, token in enumerate(tokens):
        if token.text in {".", "?", "!", ";"}:
            if index > begin:
                spans.append((begin, index + 1))
            begin = index + 1
    if begin < len(tokens):
        spans.append((begin, len(tokens)))
    return spans
