from __future__ import annotations

from notes.faithfulness.fixes import fixed_text
from tests.notes.faithfulness.conftest import check, flags_for, kinds_for


def test_the_dose_as_said_is_not_flagged(excerpts):
    visit = excerpts["D2N001"]
    assert kinds_for(visit["dialogue"], visit["note"], "increase her lisinopril") == set()


def test_a_changed_dose_is_flagged_with_the_dose_that_was_said(excerpts):
    visit = excerpts["D2N001"]
    note = visit["note"].replace("lisinopril to 40 mg", "lisinopril to 60 mg")
    flags = flags_for(visit["dialogue"], note, "increase her lisinopril")
    assert [str(flag.kind) for flag in flags] == ["dose"]
    assert "60 mg" in flags[0].message
    assert flags[0].said == "40 milligrams"


def test_a_changed_frequency_of_a_drug_is_flagged(excerpts):
    visit = excerpts["D2N002"]
    assert kinds_for(visit["dialogue"], visit["note"], "Ultram") == set()
    note = visit["note"].replace("every 6 hours", "every 12 hours")
    assert kinds_for(visit["dialogue"], note, "Ultram") == {"dose"}


def test_a_duration_written_as_digits_meets_the_spoken_words(excerpts):
    visit = excerpts["D2N033"]
    assert kinds_for(visit["dialogue"], visit["note"], "4 days ago") == set()
    note = visit["note"].replace("4 days ago", "9 days ago")
    assert kinds_for(visit["dialogue"], note, "9 days ago") == {"number"}


def test_a_changed_blood_pressure_is_a_number_flag():
    visit = "[doctor] your blood pressure today was one fifty over ninety ."
    assert kinds_for(visit, "VITALS\nBlood pressure 150/90.", "Blood pressure") == set()
    flags = flags_for(visit, "VITALS\nBlood pressure 170/90.", "Blood pressure")
    assert [str(flag.kind) for flag in flags] == ["number"]
    assert flags[0].said == "one fifty over ninety"


def test_a_changed_age_is_flagged_and_the_same_age_is_not():
    visit = "[doctor] martha is a 50-year-old female here for her annual exam ."
    assert kinds_for(visit, "HPI\nMartha is a 50-year-old female.", "Martha") == set()
    assert kinds_for(visit, "HPI\nMartha is a 57-year-old female.", "Martha") == {"number"}


def test_a_range_must_keep_both_ends():
    visit = "[patient] i have one to two beers on the weekend ."
    assert kinds_for(visit, "SOCIAL\nHe drinks 1 to 2 beers on weekends.", "drinks") == set()
    assert kinds_for(visit, "SOCIAL\nHe drinks 3 to 4 beers on weekends.", "drinks") == {"number"}


def test_a_written_date_needs_its_month_and_year_said():
    visit = "[doctor] you had the surgery in october of twenty twenty , right ?\n[patient] yes ."
    assert kinds_for(visit, "HPI\nSurgery in 10/2020.", "Surgery") == set()
    flags = flags_for(visit, "HPI\nSurgery in 09/2020.", "Surgery")
    assert [flag.message for flag in flags] == ["The note says 09/2020; the transcript never says September."]


def test_a_number_said_about_something_else_does_not_support_a_count():
    visit = "[doctor] we took three views of the hand .\n[doctor] i'll see you in five days ."
    assert kinds_for(visit, "RESULTS\nX-rays, 3 views of the hand.", "X-rays") == set()
    assert kinds_for(visit, "RESULTS\nX-rays, 5 views of the hand.", "X-rays") == {"number"}


def test_the_type_of_a_disease_is_only_contradicted_by_a_type_said():
    visit = "[doctor] and how is your diabetes doing\n[patient] pretty good my sugars are in the one twenties\n"
    assert "number" not in kinds_for(visit, "ASSESSMENT\nType 2 diabetes.", "Type")
    assert "number" not in kinds_for(visit, "ASSESSMENT\nDiabetes mellitus type 1.", "type")
    # a type no diabetes has, and a type the visit says otherwise, are flagged
    assert "number" in kinds_for(visit, "ASSESSMENT\nType 5 diabetes.", "Type")
    said = "[doctor] and how is your type 1 diabetes doing\n[patient] pretty good\n"
    assert "number" in kinds_for(said, "ASSESSMENT\nType 2 diabetes.", "Type")


def test_a_dose_frequency_said_as_q_hours_is_checked():
    visit = "[doctor] i want you to take ibuprofen that's gon na be six hundred milligrams q.6 h. with food .\n"
    assert check(visit, "PLAN\nIbuprofen 600 mg every 6 hours with food.").statements[0].flags == ()
    assert kinds_for(visit, "PLAN\nIbuprofen 600 mg every 8 hours with food.", "Ibuprofen") == {"dose"}


def test_a_range_said_backs_only_a_range_with_the_same_ends():
    visit = "[doctor] what's a long bike ride to you ?\n[patient] uh , twenty to thirty miles .\n"
    assert kinds_for(visit, "SOCIAL\nHe cycles 20 to 30 miles at a time.", "cycles") == set()
    flags = flags_for(visit, "SOCIAL\nHe cycles 20 to 23 miles at a time.", "cycles")
    assert [str(flag.kind) for flag in flags] == ["number"]
    assert flags[0].written == "20 to 23"
    assert flags[0].said == "twenty to thirty"
    assert fixed_text("He cycles 20 to 23 miles at a time.", flags[0]) == "He cycles 20 to 30 miles at a time."
    # One end said as a number of its own still backs that end.
    assert kinds_for(visit, "SOCIAL\nHe cycles 20 to 25 miles at a time.", "cycles") == {"number"}
