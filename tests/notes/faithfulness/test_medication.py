from __future__ import annotations

from notes.faithfulness.drugs import find_drugs
from notes.faithfulness.text import tokenize
from tests.notes.faithfulness.conftest import flags_for, kinds_for

VISIT = """[doctor] for the knee i'm going to prescribe meloxicam fifteen milligrams once a day .
[patient] okay . i've been taking some tylenol at night .
[doctor] and keep taking your atorvastatin for the cholesterol ."""


def canonical(text: str) -> list[str]:
    return [mention.canonical for mention in find_drugs(tokenize(text), text)]


def test_brand_and_generic_names_resolve_to_one_drug():
    assert canonical("Lipitor") == canonical("atorvastatin")
    assert canonical("Mobic") == canonical("meloxicam")
    assert canonical("Tylenol") == canonical("acetaminophen")


def test_classes_of_drugs_and_everyday_words_are_not_drugs():
    assert canonical("she took antibiotics and put ice on it, then sits down") == []


def test_brand_name_of_a_drug_said_as_its_generic_is_not_flagged():
    note = "PLAN\nContinue Lipitor for hyperlipidemia. Tylenol as needed at night."
    assert kinds_for(VISIT, note, "Lipitor") == set()
    assert kinds_for(VISIT, note, "Tylenol") == set()


def test_a_drug_nobody_said_is_flagged_with_the_drug_that_was_said():
    note = "PLAN\nStart ibuprofen 800 mg once a day for the knee."
    flags = flags_for(VISIT, note, "ibuprofen")
    assert [str(flag.kind) for flag in flags] == ["medication"]
    assert flags[0].message == "The note says ibuprofen 800 mg; the transcript says meloxicam fifteen milligrams."
    assert flags[0].evidence == (0,)
    assert flags[0].said == "meloxicam fifteen milligrams"


def test_a_drug_said_elsewhere_with_another_drugs_dose_is_flagged():
    note = "PLAN\nStart Tylenol 15 mg once a day for the knee."
    assert kinds_for(VISIT, note, "Tylenol") & {"medication", "dose"}


def test_a_misspelling_by_speech_to_text_still_counts_as_said():
    visit = "[doctor] continue the lysinopril ten milligrams ."
    assert kinds_for(visit, "PLAN\nContinue lisinopril 10 mg.", "lisinopril") == set()
