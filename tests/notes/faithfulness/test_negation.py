from __future__ import annotations

from notes.faithfulness.negation import Polarity, text_polarities
from notes.faithfulness.text import tokenize
from tests.notes.faithfulness.conftest import flags_for, kinds_for


def polarity_of(text: str, word: str) -> Polarity:
    tokens = tokenize(text)
    position = next(i for i, token in enumerate(tokens) if token.text == word)
    return text_polarities(tokens)[position]


def test_a_denial_covers_every_item_of_its_list():
    text = "She denies fever, chills, nausea, vomiting, or abdominal pain."
    assert all(polarity_of(text, word) is Polarity.NEGATED for word in ("fever", "chills", "vomiting", "pain"))


def test_a_negation_stops_at_but():
    text = "No fever but reports a cough."
    assert polarity_of(text, "fever") is Polarity.NEGATED
    assert polarity_of(text, "cough") is Polarity.AFFIRMED


def test_a_condition_is_neither_affirmed_nor_denied():
    assert polarity_of("Call the office if she develops a fever.", "fever") is Polarity.OPEN


def test_pseudo_negations_do_not_negate():
    assert polarity_of("Her pain is not better with ibuprofen.", "pain") is Polarity.AFFIRMED


def test_a_note_denial_matching_the_patients_no_is_not_flagged(excerpts):
    visit = excerpts["D2N001"]
    assert kinds_for(visit["dialogue"], visit["note"], "denies any chest pain") == set()


def test_a_finding_the_patient_answered_no_to_is_flagged_when_the_note_reports_it(excerpts):
    visit = excerpts["D2N001"]
    note = visit["note"].replace("The patient denies any chest pain", "The patient reports chest pain")
    flags = flags_for(visit["dialogue"], note, "reports chest pain")
    assert {str(flag.kind) for flag in flags} == {"negation"}
    negation = next(flag for flag in flags if flag.kind == "negation")
    assert negation.evidence == (2, 3)  # the question and the patient's "no"
    assert "no , not that i've noticed" in negation.said


def test_a_finding_the_visit_affirms_is_flagged_when_the_note_denies_it(excerpts):
    visit = excerpts["D2N002"]
    note = visit["note"].replace("There is edema and erythema", "There is no edema or erythema")
    assert "negation" in kinds_for(visit["dialogue"], note, "There is no edema")


def test_an_unpunctuated_question_answered_no_is_a_denial():
    visit = "[doctor] okay and any nausea or vomiting\n[patient] no\n[doctor] alright"
    assert kinds_for(visit, "ROS\nDenies nausea or vomiting.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports nausea.", "Reports") == {"negation"}


def test_a_question_nobody_answered_settles_nothing():
    visit = "[doctor] any fever ? and how is the knee doing ?\n[patient] it's sore ."
    assert kinds_for(visit, "ROS\nDenies fever.", "Denies") == set()
    # Asked and never answered: nothing contradicts a fever, and nothing supports one either.
    assert kinds_for(visit, "ROS\nReports fever.", "Reports") == {"unsupported"}


def test_yes_to_one_of_two_questions_leaves_the_other_open():
    visit = "[doctor] any nausea or vomiting are you peeing a lot\n[patient] yeah i'm peeing like crazy"
    assert kinds_for(visit, "ROS\nDenies nausea.", "Denies") == set()


def test_a_no_answers_a_whole_unpunctuated_question():
    visit = (
        "[doctor] have you noticed any blood in your urine i know you've been draining has it been darker\n"
        "[patient] no not really"
    )
    assert kinds_for(visit, "ROS\nDenies hematuria.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports hematuria.", "Reports") == {"negation"}


def test_an_answer_is_about_what_its_question_asked():
    visit = "[doctor] and any weakness in your legs ?\n[patient] no , no weakness , just some numbness ."
    assert kinds_for(visit, "ROS\nShe reports weakness in her legs.", "weakness") == {"negation"}


def test_an_organ_said_to_be_normal_denies_its_abnormal_findings():
    visit = "[doctor] let me listen . your lungs are clear and your heart sounds normal ."
    flags = flags_for(visit, "EXAM\nWheezes in both lungs.", "Wheezes")
    assert [str(flag.kind) for flag in flags] == ["negation"]
    assert flags[0].said == "lungs are clear and your heart sounds"


def test_a_body_system_with_a_vague_complaint_is_a_finding():
    visit = "[doctor] any problems with your urine , burning or going a lot ?\n[patient] no ."
    assert kinds_for(visit, "ROS\nDenies urinary issues.", "Denies") == set()
    assert kinds_for(visit, "ROS\nReports urinary issues.", "Reports") == {"negation"}
