from __future__ import annotations

from notes.faithfulness.numbers import Quantity, all_quantities, same_amount
from notes.faithfulness.text import tokenize


def quantities(text: str) -> list[Quantity]:
    return all_quantities(tokenize(text), text)


def only(text: str) -> Quantity:
    found = quantities(text)
    assert len(found) == 1, found
    return found[0]


def test_spoken_dose_reads_as_a_number_with_its_unit():
    quantity = only("fifteen milligrams")
    assert (quantity.low, quantity.unit) == (15, "mg")


def test_hundreds_and_compound_numbers_are_read_whole():
    assert only("five hundred milligrams").low == 500
    assert only("one hundred and twenty milligrams").low == 120
    assert only("twenty-five milligrams").low == 25


def test_one_fifty_over_ninety_is_a_blood_pressure_of_150_over_90():
    quantity = only("blood pressure one fifty over ninety")
    assert (quantity.low, quantity.second, quantity.dimension) == (150, 90, "bp")
    assert same_amount(quantity, only("BP 150/90 mmHg"))
    assert not same_amount(quantity, only("BP 160/90 mmHg"))


def test_a_decimal_said_with_point():
    assert only("temperature ninety eight point six").low == 98.6
    assert only("an a1c of seven point two").low == 7.2


def test_a_week_and_a_half_is_ten_and_a_half_days():
    spoken = only("for a week and a half")
    assert (spoken.low, spoken.unit) == (1.5, "week")
    assert same_amount(spoken, only("for 10.5 days"))
    assert not same_amount(spoken, only("for 2 weeks"))


def test_two_weeks_meets_fourteen_days():
    assert same_amount(only("two weeks"), only("14 days"))


def test_twice_a_day_meets_bid_and_not_daily():
    twice = only("twice a day")
    assert twice.dimension == "frequency"
    assert same_amount(twice, only("BID"))
    assert not same_amount(twice, only("daily"))


def test_every_six_hours_is_four_times_a_day():
    assert same_amount(only("every six hours"), only("4 times a day"))
    assert same_amount(only("every six hours"), only("q6h"))


def test_q_hours_as_a_transcript_writes_it_down_is_a_frequency():
    # Dictated "q six h" comes back from speech-to-text as "q.6 h." or "q 6 hours".
    for said in ("q.6 h.", "q 6 h", "q. 6 hours", "Q 6 hrs"):
        assert same_amount(only(said), only("every 6 hours")), said
        assert not same_amount(only(said), only("every 8 hours")), said
    # A "q" with no hours after it is not a frequency, and its number stays a number.
    assert [q.low for q in quantities("the q score was 5")] == [5.0]


def test_three_out_of_six_meets_a_written_grade_of_3_over_6():
    assert same_amount(only("a three out of six murmur"), only("Grade 3/6 murmur"))
    assert not same_amount(only("two out of six"), only("3/6"))


def test_ages_written_and_spoken():
    assert (only("a 50-year-old female").low, only("a 50-year-old female").dimension) == (50, "age")
    assert only("i am fifty two years old").low == 52


def test_a_couple_of_weeks_is_two_weeks():
    assert same_amount(only("a couple of weeks"), only("2 weeks"))


def test_one_as_a_pronoun_is_not_a_number():
    assert quantities("the left one hurts more than the other one") == []


def test_names_with_digits_are_not_quantities():
    assert quantities("covid-19 vaccine and a hemoglobin a1c") == []


def test_plus_grades_are_read_spoken_or_written():
    assert same_amount(only("one plus pitting edema"), only("1+ pitting edema"))


def test_a_decimal_written_with_a_stray_period_by_speech_to_text():
    assert quantities("aldactone twelve . five milligrams daily")[0].low == 12.5


def test_a_range_written_with_hyphens_is_read_whole():
    course = only("a 6-to-8-week course")
    assert (course.low, course.high, course.unit, course.is_range) == (6.0, 8.0, "week", True)
    assert same_amount(course, only("six to eight weeks"))
