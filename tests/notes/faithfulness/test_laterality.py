from __future__ import annotations

from notes.faithfulness.laterality import find_sides
from notes.faithfulness.text import tokenize
from tests.notes.faithfulness.conftest import flags_for, kinds_for


def test_the_side_as_said_is_not_flagged(excerpts):
    visit = excerpts["D2N033"]
    assert kinds_for(visit["dialogue"], visit["note"], "She injured her right knee") == set()


def test_a_flipped_side_is_flagged_with_the_side_that_was_said(excerpts):
    visit = excerpts["D2N033"]
    note = visit["note"].replace("She injured her right knee", "She injured her left knee")
    flags = flags_for(visit["dialogue"], note, "She injured her left knee")
    assert [str(flag.kind) for flag in flags] == ["laterality"]
    assert flags[0].said == "right"
    assert 5 in flags[0].evidence  # "[patient] my right knee"


def test_a_side_given_as_the_answer_to_which_knee_counts():
    visit = "[doctor] which knee hurts ?\n[patient] the left one ."
    assert kinds_for(visit, "HPI\nPain in the left knee.", "left knee") == set()
    assert kinds_for(visit, "HPI\nPain in the right knee.", "right knee") == {"laterality"}


def test_all_right_and_right_now_are_not_sides():
    assert find_sides(tokenize("all right , my knee hurts right now")) == []


def test_a_side_with_no_side_said_in_the_visit_is_not_flagged():
    visit = "[patient] my knee has been swollen for a week ."
    assert kinds_for(visit, "HPI\nLeft knee swelling for 1 week.", "Left knee") == set()


def test_a_side_of_the_back_is_a_side_but_right_back_of_speech_is_not():
    visit = (
        "[patient] i was moving some hay and i developed this real sudden onset of pain in my right back\n"
        "[doctor] okay i'll be right back with the x-ray\n"
    )
    assert "laterality" in kinds_for(visit, "ROS\nMusculoskeletal: Reports left back pain.", "back")
    assert "laterality" not in kinds_for(visit, "ROS\nMusculoskeletal: Reports right back pain.", "back")
    # "right back" of speech names no side: a note's left back is not contradicted by it
    aside = "[patient] my back hurts on the left\n[doctor] okay i'll be right back\n"
    assert "laterality" not in kinds_for(aside, "ROS\nReports left back pain.", "back")


def test_the_right_hand_side_is_a_side_not_a_hand():
    assert [(m.side, m.part) for m in find_sides(tokenize("a carotid bruit on the right hand side"))] == [
        ("right", "side")
    ]
    assert [(m.side, m.part) for m in find_sides(tokenize("on the left-hand side"))] == [("left", "side")]
    assert [(m.side, m.part) for m in find_sides(tokenize("pain in my right hand"))] == [("right", "hand")]
    visit = "[doctor] i'm feeling your neck . you have a carotid bruit on the right hand side .\n"
    assert "laterality" in kinds_for(visit, "EXAM\nShe has a carotid bruit on the left side.", "carotid")
    assert "laterality" not in kinds_for(visit, "EXAM\nShe has a carotid bruit on the right side.", "carotid")
