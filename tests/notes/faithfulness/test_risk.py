from __future__ import annotations

from tests.notes.faithfulness.conftest import check


def omitted(visit: str, note: str) -> list[str]:
    return [flag.message for flag in check(visit, note).note_flags]


def test_suicidal_ideation_affirmed_in_answer_and_missing_from_the_note_is_flagged():
    visit = "[doctor] any thoughts of wanting to harm yourself ?\n[patient] yes , sometimes at night ."
    messages = omitted(visit, "HPI\nShe reports poor sleep.")
    assert messages == ["In the visit, the patient affirmed suicidal ideation; the note does not mention it."]


def test_suicidal_ideation_in_the_note_is_not_omitted():
    visit = "[doctor] any thoughts of wanting to harm yourself ?\n[patient] yes , sometimes at night ."
    assert omitted(visit, "HPI\nShe endorses passive suicidal ideation at night.") == []


def test_denied_suicidal_ideation_is_no_risk(excerpts):
    visit = excerpts["D2N001"]
    assert omitted(visit["dialogue"], "HPI\nShe is doing well with therapy.") != [
        "In the visit, the patient affirmed suicidal ideation; the note does not mention it."
    ]
    assert not any("suicidal" in message for message in omitted(visit["dialogue"], "HPI\nShe is doing well."))


def test_forgetting_medication_missing_from_the_note_is_flagged(excerpts):
    visit = excerpts["D2N001"]
    assert omitted(visit["dialogue"], visit["note"]) == []
    messages = omitted(visit["dialogue"], "PLAN\nIncrease lisinopril to 40 mg daily.")
    assert messages == [
        "In the visit, the patient said they are not taking a medication as prescribed; the note does not mention it."
    ]


def test_abuse_described_by_the_patient_is_flagged_when_the_note_is_silent():
    visit = "[patient] my husband hits me when he drinks ."
    assert len(omitted(visit, "HPI\nHeadache for two days.")) == 1
    assert omitted(visit, "HPI\nHeadache. She reports domestic violence by her husband.") == []


def test_alcohol_abuse_is_not_abuse_of_the_patient():
    assert omitted("[patient] my father had alcohol abuse problems .", "HPI\nHeadache.") == []
