"""Negation as clinical language says it: NegEx/ConText triggers and scopes on the note's side and the visit's, and
the visit's questions settled by the answers on the next turn."""

from __future__ import annotations

import pytest

from notes.faithfulness.negation import Polarity, answer_kind, text_polarities, transcript_polarities
from notes.faithfulness.text import tokenize
from tests.notes.faithfulness.conftest import check, flags_for, kinds_for


def polarity_of(text: str, word: str, *, spoken: bool = False) -> Polarity:
    tokens = tokenize(text)
    position = next(i for i, token in enumerate(tokens) if token.text == word)
    return text_polarities(tokens, spoken=spoken)[position]


# --- pseudo-negations: a "no" or a "not" that denies nothing ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("No change in her knee pain since the last visit.", "pain"),
        ("No increase in swelling.", "swelling"),
        ("Not only pain but also stiffness in the morning.", "pain"),
        ("Culture grew gram negative rods; fever persists.", "fever"),
        ("There has been no significant change in his cough.", "cough"),
    ],
)
def test_a_pseudo_negation_denies_nothing(text, word):
    assert polarity_of(text, word) is Polarity.AFFIRMED


def test_no_change_in_a_finding_named_as_a_change_is_still_a_denial():
    # "vision changes" is the finding itself: "no changes in your vision" denies it
    assert polarity_of("No changes in your vision.", "vision") is Polarity.NEGATED


def test_a_pseudo_negation_is_not_flagged_against_a_visit_that_affirms_the_finding():
    visit = "[doctor] how is the knee ?\n[patient] it still hurts , about the same as last time ."
    assert "negation" not in kinds_for(visit, "HPI\nNo change in her knee pain.", "No change")
    assert kinds_for(visit, "HPI\nNo knee pain.", "No knee pain") == {"negation"}


# --- triggers after what they deny ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Fever: no.", "fever"),
        ("Chest pain: denies.", "pain"),
        ("Lachman test is negative.", "lachman"),
        ("Nausea and vomiting were denied.", "vomiting"),
        ("Murmurs were not heard.", "murmurs"),
        ("A mass was not observed on exam.", "mass"),
        ("She has been pain-free since the injection.", "pain"),
        ("A fracture was ruled out.", "fracture"),
    ],
)
def test_a_post_negation_denies_what_comes_before_it(text, word):
    assert polarity_of(text, word) is Polarity.NEGATED


def test_a_trigger_followed_by_a_colon_still_denies_its_list():
    assert polarity_of("Denies: fever, chills.", "chills") is Polarity.NEGATED


# --- where a scope ends ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "denied", "affirmed"),
    [
        ("No complaints other than fatigue.", "complaints", "fatigue"),
        ("Denies fever, however reports chills.", "fever", "chills"),
        ("No rash except a small bruise on the shin.", "rash", "bruise"),
        ("Denies headache, although she has neck pain.", "headache", "neck"),
        ("No swelling, which has improved the pain.", "swelling", "pain"),
        ("Denies that the pain is worse.", "pain", "worse"),
        ("No cough besides the wheezing at night.", "cough", "wheezing"),
    ],
)
def test_a_scope_stops_at_its_terminator(text, denied, affirmed):
    assert polarity_of(text, denied) is Polarity.NEGATED
    assert polarity_of(text, affirmed) is Polarity.AFFIRMED


def test_a_hedge_about_how_long_leaves_the_finding_affirmed():
    text = "my hand has been bothering me probably for a few months now with pain and numbness"
    assert polarity_of(text, "months", spoken=True) is Polarity.OPEN
    assert polarity_of(text, "pain", spoken=True) is Polarity.AFFIRMED


# --- answers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("no .", Polarity.NEGATED),
        ("nope .", Polarity.NEGATED),
        ("not really .", Polarity.NEGATED),
        ("uh-uh .", Polarity.NEGATED),
        ("hmm , no .", Polarity.NEGATED),
        ("definitely not .", Polarity.NEGATED),
        ("i do n't think so .", Polarity.NEGATED),
        ("yes .", Polarity.AFFIRMED),
        ("yeah , a little .", Polarity.AFFIRMED),
        ("uh huh .", Polarity.AFFIRMED),
        ("that's right .", Polarity.AFFIRMED),
        ("every once in a while .", Polarity.AFFIRMED),
        ("only when i walk .", Polarity.AFFIRMED),
        ("i do n't know .", None),
        ("not sure .", None),
    ],
)
def test_what_an_answer_says(answer, kind):
    assert answer_kind(tokenize(answer)) is kind


@pytest.mark.parametrize("no", ["no .", "nope .", "not really .", "uh-uh .", "no , not that i've noticed ."])
def test_a_question_answered_no_on_the_next_turn_is_a_denial(no):
    visit = f"[doctor] any chest pain ?\n[patient] {no}\n[doctor] okay ."
    assert kinds_for(visit, "ROS\nReports chest pain.", "Reports") == {"negation"}
    assert kinds_for(visit, "ROS\nDenies chest pain.", "Denies") == set()


@pytest.mark.parametrize("yes", ["yes .", "yeah .", "yeah , a little .", "uh huh ."])
def test_a_question_answered_yes_affirms_it(yes):
    visit = f"[doctor] any chest pain ?\n[patient] {yes}\n[doctor] okay ."
    assert kinds_for(visit, "ROS\nDenies chest pain.", "Denies") == {"negation"}
    assert kinds_for(visit, "ROS\nReports chest pain.", "Reports") == set()


def test_a_yes_to_a_denial_asked_back_confirms_the_denial():
    visit = "[doctor] and no fever ?\n[patient] yeah , none .\n[doctor] okay ."
    assert kinds_for(visit, "ROS\nReports fever.", "Reports") == {"negation"}
    visit = "[doctor] and no fever ?\n[patient] yes , i do have one .\n[doctor] okay ."
    assert kinds_for(visit, "ROS\nDenies fever.", "Denies") == {"negation"}


def test_an_answer_that_takes_up_some_findings_of_a_list_denies_the_others():
    visit = (
        "[doctor] any chest pain , shortness of breath , or belly pain ?\n"
        "[patient] shortness of breath . no belly pain though .\n[doctor] okay ."
    )
    assert kinds_for(visit, "ROS\nReports chest pain.", "Reports") == {"negation"}
    assert "negation" not in kinds_for(visit, "ROS\nReports shortness of breath.", "Reports")


def test_everything_else_is_fine_denies_what_the_answer_leaves_out():
    visit = (
        "[doctor] anything else , fever , sore throat , cough ?\n"
        "[patient] i've had a little nasal congestion , but everything else has been okay .\n[doctor] good ."
    )
    assert kinds_for(visit, "ROS\nReports fever.", "Reports") == {"negation"}


def test_an_answer_naming_where_answers_the_whole_question():
    # "legs" says where, not which finding: the "nope" denies the swelling
    visit = "[doctor] how about your legs , are they swelling up\n[patient] nope , my legs are skinny as ever\n"
    assert kinds_for(visit, "ROS\nReports leg swelling.", "Reports") == {"negation"}


def test_a_question_about_the_past_does_not_speak_for_today():
    visit = (
        "[doctor] so you hurt your left foot playing soccer yesterday .\n"
        "[doctor] have you ever hurt your left foot before ?\n[patient] no ."
    )
    # today's foot pain is said; the "no" is about before
    assert kinds_for(visit, "ROS\nDenies left foot pain.", "Denies") == {"negation"}


def test_the_visits_questions_and_answers_in_one_pass():
    turns = [
        ("doctor", tokenize("any nausea ?")),
        ("patient", tokenize("nope .")),
        ("doctor", tokenize("any vomiting ?")),
        ("patient", tokenize("yes , twice .")),
    ]
    result = transcript_polarities(turns)
    assert result[0].polarities[1] is Polarity.NEGATED  # nausea
    assert result[0].answered_by[1] == 1
    assert result[2].polarities[1] is Polarity.AFFIRMED  # vomiting


# --- injuries, what a speaker cannot recall, and the past before this problem ----------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("i can't recall falling on it or injuring it", "injuring"),
        ("i ca n't recall like falling on it injuring it getting hit", "injuring"),  # as transcribed
        ("i don't remember an injury", "injury"),
        ("she does not recall any trauma to the knee", "trauma"),
    ],
)
def test_what_a_speaker_cannot_recall_is_denied(text, word):
    assert polarity_of(text, word, spoken=True) is Polarity.NEGATED


def test_cannot_do_something_is_still_no_denial():
    # "can't" of what one is unable to do affirms the trouble; only "can't recall" denies
    assert polarity_of("i can't walk on it because of the pain", "pain", spoken=True) is Polarity.AFFIRMED


def test_an_injury_the_visit_denies_is_flagged_when_the_note_reports_one():
    visit = (
        "[doctor] did you injure your wrist or fall on it ?\n"
        "[patient] no , i don't remember any injury , it just started hurting ."
    )
    assert kinds_for(visit, "HPI\nHe denies any specific injury.", "injury") == set()
    assert "negation" in kinds_for(visit, "HPI\nHe reports a specific injury.", "injury")


def test_a_denial_tied_to_a_known_event_leaves_the_event_affirmed():
    assert polarity_of("She denies hearing a pop at the time of the injury.", "pop") is Polarity.NEGATED
    assert polarity_of("She denies hearing a pop at the time of the injury.", "injury") is Polarity.AFFIRMED
    assert polarity_of("No swelling since the fall.", "fall") is Polarity.AFFIRMED
    visit = "[doctor] and after the injury did they do anything for you ?\n[patient] they wrapped it ."
    note = "HPI\nShe denies hearing or feeling a pop at the time of the injury."
    assert "negation" not in kinds_for(visit, note, "pop")


def test_never_before_this_problem_does_not_deny_the_problem_of_today():
    visit = (
        "[doctor] so have you ever hurt your left foot before\n"
        "[patient] no i've had a lot of injuries in soccer but never injured this foot\n"
        "[doctor] okay and how did it happen yesterday\n"
        "[patient] i got kicked during the game"
    )
    note = "HPI\nThe patient sustained an injury to her left foot while playing soccer yesterday."
    assert "negation" not in kinds_for(visit, note, "injury")


def test_a_lifetime_denial_still_contradicts_a_finding_reported_today():
    visit = "[doctor] have you ever had any chest pain\n[patient] no never"
    assert "negation" in kinds_for(visit, "HPI\nHe reports chest pain.", "chest pain")


def test_only_the_words_near_before_ask_about_the_past():
    # unpunctuated speech: "before" at the end of a long turn does not make the whole turn history
    visit = (
        "[doctor] we got an x-ray of your ankle and luckily there is no fractures no bony abnormalities which is "
        "really good so let me talk about my assessment and plan for you so for your right ankle pain your "
        "symptoms are consistent with a sprain have you sprained your ankle before\n"
        "[patient] no"
    )
    note = "RESULTS\nX-ray of the right ankle reveals fracture or bony abnormalities."
    assert "negation" in kinds_for(visit, note, "fracture")


def test_a_list_of_findings_asked_with_a_question_mark_is_a_question():
    visit = (
        "[doctor] okay . can you tell me if you have any other symptoms ? specifically feeling sick , fever , "
        "rashes , neck stiffness , numbness , weakness , passing out ?\n"
        "[patient] no . i have n't been sick . ca n't recall a fever or any kind of rash . no numbness .\n"
    )
    note = "ROS\nNegative for fever, rash, weakness, neck stiffness, or syncope."
    assert "negation" not in kinds_for(visit, note, "fever")
    assert "negation" in kinds_for(visit, "ROS\nPositive for fever.", "fever")


def test_a_finding_under_a_place_label_is_about_that_place():
    # the wrist was swollen; nothing was said of the neck
    visit = (
        "[patient] i fell on my wrist and it hurt real bad and it got real swollen\n"
        "[doctor] okay . the wrist is swollen and tender .\n"
        "[doctor] your neck looks fine .\n"
    )
    assert "negation" not in kinds_for(visit, "PHYSICAL EXAM\nNECK: No swelling noted", "swelling")
    assert "negation" in kinds_for(visit, "PHYSICAL EXAM\nWRIST: No swelling noted", "swelling")


def test_the_patients_answer_outweighs_an_aside_in_a_long_explanation():
    plan = (
        "[doctor] okay so for your assessment and plan for the first problem we are going to continue with the "
        "current treatment and repeat the imaging when that is complete and hopefully things will keep improving "
        "and for the second problem the inflammation in the lungs that is what is causing that cough as well as "
        "some of the shortness of breath so i am going to prescribe a low dose of a steroid for that"
    )
    asked = (
        "[doctor] how is it when you are walking are you having any shortness of breath\n"
        "[patient] i have n't noticed any shortness of breath it is just a light dry cough\n"
    )
    assert "negation" in kinds_for(asked + plan, "ROS\nReports shortness of breath.", "Reports")
    assert "negation" not in kinds_for(asked + plan, "ROS\nDenies shortness of breath.", "Denies")
    # said directly both ways: the visit settles nothing, and nothing is flagged
    both = asked + "[doctor] okay and any shortness of breath at night\n[patient] yes some at night\n"
    assert "negation" not in kinds_for(both, "ROS\nReports shortness of breath.", "Reports")


def test_a_whole_body_label_does_not_tie_a_finding_to_a_place():
    visit = "[patient] my big toe hurts and it's a little red too\n[doctor] okay and when did it get red and warm\n"
    assert "negation" in kinds_for(visit, "ROS\nSkin: Denies redness.", "redness")


def test_an_answer_that_says_it_did_not_hear_a_pop_denies_the_pop():
    visit = (
        "[doctor] okay now when you fell did you feel or hear a pop or anything like that\n"
        "[patient] i would n't say i really heard a pop it was just kind of really kind of felt extended and "
        "stretched\n"
    )
    assert "negation" in kinds_for(visit, "HPI\nHe reports hearing a pop at the time of the injury.", "pop")
    assert "negation" not in kinds_for(visit, "HPI\nHe denies hearing a pop at the time of the injury.", "pop")


def test_what_a_finding_is_about_may_be_said_a_few_words_away():
    visit = (
        "[doctor] so tell me about this shortness of breath .\n"
        "[patient] okay . so when i'm doing very mild exercises or just walking up my driveway i get "
        "palpitations and a little bit of shortness of breath .\n"
        "[doctor] okay . and you said the shortness of breath has been going on for a few months .\n"
        "[doctor] we sent you to get some pulmonary function tests for the shortness of breath .\n"
        "[doctor] and albuterol is for when you get really short of breath .\n"
    )
    note = "HPI\nThe patient denies shortness of breath with mild exercise and walking."
    assert "negation" in kinds_for(visit, note, "denies")


def test_as_well_as_goes_on_with_the_list_a_denial_runs_over():
    text = "She denies any signs of gastrointestinal bleeding, as well as any abnormal menstrual bleeding."
    tokens = tokenize(text)
    polarities = text_polarities(tokens)
    assert [p for t, p in zip(tokens, polarities, strict=True) if t.text == "bleeding"] == [Polarity.NEGATED] * 2
    # "as long as" still ends the scope
    assert polarity_of("No pain as long as she rests her knee.", "rests") is Polarity.AFFIRMED


@pytest.mark.parametrize(
    ("visit", "agreeing", "contradicting"),
    [
        ("[doctor] your neck , there's no thyroid enlargement .", "No thyromegaly.", "Thyromegaly noted."),
        ("[doctor] i do feel a little enlarged thyroid here .", "Thyromegaly noted.", "No thyromegaly."),
        ("[doctor] i also feel a slight enlargement of your liver here .", "Mild hepatomegaly.", "No hepatomegaly."),
        ("[doctor] i don't feel any swollen lymph nodes in your neck .", "No lymphadenopathy.", "Lymphadenopathy."),
    ],
)
def test_an_organ_said_to_be_enlarged_is_its_clinical_finding(visit, agreeing, contradicting):
    assert "negation" not in kinds_for(visit, f"PHYSICAL EXAM\n{agreeing}", agreeing.split()[0])
    assert "negation" in kinds_for(visit, f"PHYSICAL EXAM\n{contradicting}", contradicting.split()[0])


def test_fine_crackles_are_a_finding_not_a_fine_lung():
    visit = "[doctor] and , on your lung exam , i do appreciate some fine crackles at the bases bilaterally .\n"
    assert check(visit, "PHYSICAL EXAM\nRespiratory: Rales bilateral bases.").statements[0].flags == ()
    assert "negation" in kinds_for(visit, "PHYSICAL EXAM\nRespiratory: No rales.", "rales")
    clear = "[doctor] on your lung exam your lungs are clear .\n"
    assert "negation" in kinds_for(clear, "PHYSICAL EXAM\nRespiratory: Rales bilateral bases.", "Rales")


@pytest.mark.parametrize(
    ("said", "written", "other"),
    [
        ("distal", "proximal", "joint"),
        ("proximal", "distal", "joint"),
        ("anterior", "posterior", "knee"),
        ("posterior", "anterior", "knee"),
    ],
)
def test_a_finding_said_of_the_opposite_end_of_a_part_is_not_said_of_this_one(said, written, other):
    # One turn affirms the finding at one end and denies it at the other: the note's end decides.
    visit = (
        f"[doctor] on exam , you do have some tenderness over the {said} part of that {other} . "
        f"i do n't feel any tenderness over the {written} {other} though .\n"
    )
    flags = flags_for(visit, f"PHYSICAL EXAM\nTenderness over the {written} {other}.", "Tenderness")
    assert [str(flag.kind) for flag in flags] == ["negation"]
    # The words as said start at the sentence that denies it, not at the end of the one before.
    assert flags[0].said.startswith("i do n't feel any tenderness")
    assert "negation" not in kinds_for(visit, f"PHYSICAL EXAM\nTenderness over the {said} {other}.", "Tenderness")


def test_a_question_asked_mid_turn_without_punctuation_asks_and_does_not_say():
    # A question and its answer run together in one turn, as speech-to-text without speaker turns writes them.
    visit = (
        "[doctor] and what have you taken for the pain i have taken some tylenol but it has n't really helped "
        "okay and do you have any nausea vomiting any fever chills i feel nauseated but i'm not vomiting okay is "
        "anyone in your family had kidney stones in the past that you know of or any other problems like that\n"
        "[patient] yes my dad had them\n"
    )
    assert "negation" in kinds_for(visit, "ROS\nReports vomiting.", "vomiting")
    assert check(visit, "ROS\nDenies vomiting.").statements[0].flags == ()
    assert check(visit, "ROS\nReports nausea.").statements[0].flags == ()
    # The question's words end where the answer starts: "i feel nauseated" is said.
    tokens = tokenize(visit.split("\n", maxsplit=1)[0].split("] ", 1)[1])
    polarities = transcript_polarities([("doctor", tokens)])[0].polarities
    said = dict(zip((t.text for t in tokens), polarities, strict=False))
    assert said["fever"] is Polarity.OPEN
    assert said["nauseated"] is Polarity.AFFIRMED


def test_findings_named_alone_and_left_unanswered_are_only_asked():
    visit = "[doctor] any fever or chills ?\n[patient] no\n[doctor] okay coughing headache\n[patient] ma'am\n"
    flags = flags_for(visit, "ROS\nReports cough.", "cough")
    assert [(str(flag.kind), flag.said) for flag in flags] == [("unsupported", "okay coughing headache")]
    # What a patient says in a few words is said, answered or not.
    said = "[patient] my knee hurts\n[doctor] okay\n"
    assert check(said, "HPI\nReports knee pain.").statements[0].flags == ()
    # A finding named in answer to a question is what the patient has.
    answer = "[doctor] what brings you in today ?\n[patient] headaches\n[doctor] okay how long have you had them\n"
    assert check(answer, "HPI\nReports headaches.").statements[0].flags == ()
    # A finding named alone and answered is settled by the answer.
    answered = "[doctor] okay coughing headache\n[patient] no\n"
    assert "negation" in kinds_for(answered, "ROS\nReports cough.", "cough")
