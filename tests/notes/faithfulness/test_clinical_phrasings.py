"""The detectors on the way visits are actually spoken and notes actually written: denials said in passing,
questions that take their subject as given, answers that only repeat the question, ratings, decimals said with a
pause, everyday drug names, and the side a visit keeps coming back to."""

from __future__ import annotations

from notes.content import Flag, FlagKind
from notes.faithfulness.drugs import lexicon
from notes.faithfulness.fixes import as_written, fixed_text
from tests.notes.faithfulness.conftest import flags_for, kinds_for

# --- negation --------------------------------------------------------------------------------------


def test_a_denial_said_in_passing_contradicts_a_note_that_reports_it():
    visit = "[doctor] how have you been ?\n[patient] pretty good . i have not had any fevers ."
    assert kinds_for(visit, "ROS\nDenies fevers.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports fevers.", "Reports") == {"negation"}


def test_the_any_of_a_denial_is_not_a_question():
    visit = "[patient] i have n't had any chest pain or shortness of breath ."
    assert kinds_for(visit, "ROS\nDenies chest pain or shortness of breath.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports chest pain.", "Reports") == {"negation"}


def test_denying_some_of_a_symptom_still_denies_it():
    visit = "[patient] riding in the back of a car makes me nauseous at times ."
    assert kinds_for(visit, "HPI\nThe patient denies some nausea when riding in a car.", "denies") == {"negation"}


def test_a_question_that_takes_its_subject_as_given_is_not_left_open():
    visit = "[doctor] how long have you had the cough ?\n[patient] about two weeks now ."
    assert kinds_for(visit, "HPI\nReports a cough for 2 weeks.", "cough") == set()


def test_a_finding_the_visit_only_asks_about_is_unsupported_not_contradicted():
    visit = "[doctor] any vomiting ?\n[patient] well , i ate at a new place on friday ."
    flags = flags_for(visit, "ROS\nReports vomiting.", "vomiting")
    assert [str(flag.kind) for flag in flags] == ["unsupported"]
    assert "only asks about it" in flags[0].message


def test_a_word_that_denies_by_itself_denies_the_finding():
    visit = "[doctor] you are afebrile today and the abdomen is non-tender ."
    assert kinds_for(visit, "EXAM\nFever present.", "Fever") == {"negation"}
    assert kinds_for(visit, "EXAM\nAbdominal tenderness.", "tenderness") == {"negation"}


def test_uh_uh_is_a_no():
    visit = "[doctor] any blood in your stool ?\n[patient] uh-uh ."
    assert kinds_for(visit, "ROS\nDenies blood in the stool.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports blood in the stool.", "Reports") == {"negation"}


def test_the_side_said_with_a_finding_decides_which_mention_a_statement_is_about():
    visit = "[patient] my left knee does n't really hurt , but my right knee hurts a lot ."
    assert kinds_for(visit, "HPI\nShe reports right knee pain.", "right knee") == set()
    assert "negation" in kinds_for(visit, "HPI\nShe reports left knee pain.", "left knee")


def test_when_a_finding_was_said_tells_one_mention_from_another():
    visit = (
        "[doctor] have you lost weight recently ?\n[patient] no , my appetite is good .\n"
        "[patient] actually , over the past six months i have lost some weight ."
    )
    assert kinds_for(visit, "HPI\nShe denies weight loss over the past 6 months.", "weight") == {"negation"}


# --- numbers ---------------------------------------------------------------------------------------


def test_point_five_is_a_half():
    visit = "[doctor] the ct shows a stone measuring point five centimeters in the right ureter ."
    assert kinds_for(visit, "RESULTS\nCT shows a 0.5 cm stone.", "stone") == set()
    flags = flags_for(visit, "RESULTS\nCT shows a 5 cm stone.", "stone")
    assert [(str(flag.kind), flag.said) for flag in flags] == [("number", "point five centimeters")]


def test_a_decimal_said_with_a_pause_is_one_number():
    visit = "[doctor] your last a1c was seven . three , so a little high ."
    assert kinds_for(visit, "RESULTS\nHemoglobin A1c 7.3.", "A1c") == set()
    assert kinds_for(visit, "RESULTS\nHemoglobin A1c 7.8.", "A1c") == {"number"}


def test_a_rating_said_as_a_bare_number_is_a_score_out_of_ten():
    visit = "[doctor] can you rate your pain for me ?\n[patient] right now it's like a four ."
    assert kinds_for(visit, "HPI\nShe rates her pain 4/10.", "rates") == set()
    assert kinds_for(visit, "HPI\nShe rates her pain 6/10.", "rates") == {"number"}


def test_a_baby_aspirin_is_81_mg():
    visit = "[patient] i take a baby aspirin every day ."
    assert kinds_for(visit, "MEDICATIONS\nAspirin 81 mg daily.", "Aspirin") == set()
    assert kinds_for(visit, "MEDICATIONS\nAspirin 325 mg daily.", "Aspirin") == {"dose"}


def test_a_follow_up_interval_is_checked_against_when_the_doctor_will_see_them_again():
    visit = "[patient] it has been worse for about six months .\n[doctor] i will see you again in three months ."
    flags = flags_for(visit, "PLAN\nFollow up in 6 months.", "Follow")
    assert [(str(flag.kind), flag.said) for flag in flags] == [("number", "three months")]


def test_a_date_needs_its_month_said_not_the_year_a_visit_rarely_says():
    visit = "[patient] i had the surgery back in march ."
    assert kinds_for(visit, "HPI\nSurgery in 03/2021.", "Surgery") == set()
    assert kinds_for(visit, "HPI\nSurgery in 05/2021.", "Surgery") == {"number"}


def test_a_month_said_only_in_a_date_of_birth_does_not_back_another_date():
    visit = "[doctor] date of birth 08/01/1980 .\n[patient] yes ."
    assert "number" in kinds_for(visit, "HPI\nAnxiety worse in 8/2021.", "Anxiety")


def test_an_age_is_worked_out_from_a_year_of_birth_only_when_it_is_not_in_the_future():
    visit = "[doctor] and your date of birth ?\n[patient] nineteen eighty two ."
    assert kinds_for(visit, "HPI\nA 40-year-old woman.", "woman") == set()
    assert kinds_for(visit, "HPI\nA 90-year-old woman.", "woman") == {"number"}


# --- laterality ------------------------------------------------------------------------------------


def test_a_slip_of_side_the_visit_corrects_is_flagged_with_how_often_each_side_was_said():
    visit = (
        "[patient] i hurt the top part of my right leg .\n"
        "[doctor] she is here for left leg pain . right leg pain , right leg pain ?\n"
        "[patient] yes .\n"
        "[doctor] there is tenderness of the right leg ."
    )
    flags = flags_for(visit, "ASSESSMENT\nLeft leg pain.", "leg")
    assert [str(flag.kind) for flag in flags] == ["laterality"]
    assert "the right in 3 turns, and the left in 1" in flags[0].message


def test_a_side_asked_about_and_denied_does_not_back_a_finding_on_that_side():
    visit = "[doctor] does your left knee hurt ?\n[patient] no , it is my right knee that hurts ."
    assert "laterality" in kinds_for(visit, "HPI\nLeft knee pain.", "knee")


# --- fixes -----------------------------------------------------------------------------------------


def test_the_fix_writes_the_transcripts_amounts_as_a_note_does():
    assert as_written("meloxicam fifteen milligrams") == "meloxicam 15 mg"
    assert as_written("one fifty over ninety") == "150/90"
    assert as_written("two weeks") == "2 weeks"
    assert as_written("twice a day") == "twice a day"
    assert as_written("twenty to thirty") == "20 to 30"
    assert as_written("six to eight weeks") == "6 to 8 weeks"
    assert as_written("ten to twenty percent") == "10 to 20%"
    assert as_written("one") == "one"  # a lone word of no unit may be a pronoun


def test_a_side_fix_changes_only_the_side_keeping_its_capital():
    flag = Flag(FlagKind.LATERALITY, "m", (1,), said="left", written="Right lower extremity")
    assert fixed_text("Right lower extremity edema.", flag) == "Left lower extremity edema."


def test_a_flag_without_words_said_has_no_fix():
    assert fixed_text("Reports fevers.", Flag(FlagKind.NEGATION, "m", (1,), said="no fevers")) is None
    assert fixed_text("Takes Tylenol.", Flag(FlagKind.MEDICATION, "m", (1,), said="", written="Tylenol")) is None


# --- the drug lexicon ------------------------------------------------------------------------------


def test_the_drug_lexicon_is_read_once_and_brands_meet_their_generics():
    assert lexicon() is lexicon()
    assert lexicon().canonical(["lipitor"]) == lexicon().canonical(["atorvastatin"])
    assert lexicon().canonical(["antibiotics"]) is None


def test_a_question_and_its_no_run_together_in_one_turn_deny_what_was_asked():
    visit = (
        "[doctor] okay and any chest pain or shortness of breath or anything like that no no nothing like that\n"
        "[patient] okay and do you have a podiatrist"
    )
    assert kinds_for(visit, "ROS\nDenies chest pain or shortness of breath.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports chest pain.", "Reports") == {"negation"}


def test_a_range_needs_both_its_ends_said():
    visit = "[doctor] how long has the ulcer been there ?\n[patient] six eight weeks maybe ."
    assert kinds_for(visit, "HPI\nUlcer present for 6 to 8 weeks.", "Ulcer") == set()
    assert kinds_for(visit, "HPI\nUlcer present for 6 to 10 weeks.", "Ulcer") == {"number"}


def test_a_patients_own_words_for_a_finding_meet_the_notes_term():
    visit = "[doctor] any pain in your chest ?\n[patient] no .\n[patient] i had a temperature last night ."
    assert kinds_for(visit, "ROS\nDenies chest pain.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports chest pain.", "Reports") == {"negation"}
    assert kinds_for(visit, "ROS\nReports a fever last night.", "fever") == set()
