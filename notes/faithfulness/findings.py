"""Findings and symptoms: the words whose presence in a note must be backed by something said in the visit.

Concept stems come from the synonym table (``text.SYNONYMS``), so "SOB" in a note is backed by "short of
breath" in the visit; the rest are single stems of signs and symptoms that have no common lay synonym.
"""

from __future__ import annotations

from notes.faithfulness.text import stem, word_list

FINDING_CONCEPTS = frozenset(
    {
        "dyspnea",
        "fever",
        "chill",
        "nausea",
        "vomit",
        "diarrhea",
        "constipat",
        "headache",
        "dizzy",
        "fatigue",
        "edema",
        "erythema",
        "tender",
        "cough",
        "syncope",
        "palpitation",
        "numb",
        "tingl",
        "weak",
        "insomnia",
        "suicidal_ideation",
        "homicidal_ideation",
        "self_harm",
        "anxiety",
        "depress",
        "wheez",
        "rash",
        "itch",
        "vision_change",
        "weight_loss",
        "weight_gain",
        "chest_pain",
        "congest",
        "bleed",
        "hematuria",
        "bruis",
        "fracture",
        "stiff",
        "cramp",
        "dysphagia",
        "polyuria",
        "polydipsia",
        "orthopnea",
        "hematochezia",
        "melena",
        "epistaxis",
        "diaphoresis",
        "rhinorrhea",
        "photophobia",
        "tinnitus",
        "warm",
        "effusion",
        "pain",
        "pop",
        "myalgia",
        "dysuria",
        "heartburn",
        "night_sweats",
        "hemoptysis",
        "crackles",
    }
)

# Conditions a note affirms or denies ("no history of stroke"); with findings, what a negation can flip.
CONDITION_CONCEPTS = frozenset(
    {
        "hypertension",
        "hyperlipidemia",
        "diabet",
        "heart_failure",
        "myocardial_infarction",
        "stroke",
        "fracture",
        "injury",
    }
)

FINDING_STEMS = FINDING_CONCEPTS | frozenset(
    stem(word)
    for word in word_list(
        """
        murmur murmurs gallop gallops rub rubs crackles rales rhonchi stridor jaundice jaundiced cyanosis
        clubbing lymphadenopathy hepatomegaly splenomegaly ascites effusion effusions dysuria urgency
        incontinence polyuria polydipsia hematochezia melena hemoptysis heartburn reflux dysphagia odynophagia
        hoarseness rhinorrhea sneezing seizure seizures tremor tremors confusion hallucinations paranoia
        laceration abrasion ulcer ulcers lesion lesions lump lumps nodule nodules discharge drainage pus
        abscess blister blisters spasm spasms deformity crepitus instability atrophy sweats sweating appetite
        anorexia bloating flatulence photophobia phonophobia aura diplopia tinnitus otalgia earache orthopnea
        claudication wound wounds scar swelling bruising induration fluctuance warmth drooping droop facial
        slurred aphasia ataxia vertigo hematoma hernia spotting cramping pallor diaphoresis tachycardia
        bradycardia arrhythmia hypoxia fatigue malaise weakness numbness tingling nosebleed epistaxis
        petechiae purpura urticaria hives mass masses rebound guarding abnormality abnormalities
        """
    )
)

# Named examination manoeuvres and tests, whose result a note reports as positive or negative.
EXAM_TESTS = frozenset(
    stem(word)
    for word in word_list(
        """
        mcmurray mcmurrays lachman lachmans drawer spurling spurlings phalen phalens tinel tinels hawkins neer
        finkelstein finkelsteins thompson homan homans murphy murphys mcburney rovsing psoas obturator romberg
        babinski slr faber fadir thessaly apley sulcus
        """
    )
)
_MEDICAL_SUFFIXES = (
    "itis",
    "osis",
    "emia",
    "algia",
    "opathy",
    "megaly",
    "uria",
    "pnea",
    "rrhea",
    "ectomy",
    "plasty",
    "oma",
    "cele",
    "spasm",
    "trophy",
    "plegia",
    "paresis",
)


_CLINICAL: dict[str, bool] = {}  # is_clinical's answers so far


def is_clinical(stem_: str) -> bool:
    """Whether a stem names a finding, a test or a condition (a thing a note can affirm or deny)."""
    known = _CLINICAL.get(stem_)
    if known is None:
        known = (
            stem_ in FINDING_STEMS
            or stem_ in EXAM_TESTS
            or stem_ in CONDITION_CONCEPTS
            or stem_.endswith(_MEDICAL_SUFFIXES)
        )
        if len(_CLINICAL) < 100_000:
            _CLINICAL[stem_] = known
    return known
