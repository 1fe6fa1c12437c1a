from __future__ import annotations

from tests.notes.faithfulness.conftest import check, flags_for, kinds_for


def test_an_invented_symptom_is_flagged(excerpts):
    visit = excerpts["D2N033"]
    note = visit["note"] + "\nShe also reports intermittent palpitations.\n"
    assert kinds_for(visit["dialogue"], note, "palpitations") == {"unsupported"}


def test_lay_words_written_clinically_are_not_flagged():
    visit = (
        "[doctor] any trouble breathing ?\n[patient] yeah , i get winded on the stairs .\n"
        "[doctor] your legs look a bit swollen and your left ankle is red ."
    )
    note = "HPI\nShe reports dyspnea on exertion.\nEXAM\nBilateral lower extremity edema. Erythema of the left ankle."
    result = check(visit, note)
    assert [statement.flags for statement in result.statements] == [(), (), ()]


def test_the_reference_notes_of_real_visits_raise_no_flags(excerpts):
    for visit in excerpts.values():
        result = check(visit["dialogue"], visit["note"])
        flagged = [(s.text, [f.message for f in s.flags]) for s in result.statements if s.flags]
        assert flagged == [], visit["encounter_id"]
        assert result.note_flags == ()


def test_a_statement_with_nothing_behind_it_is_flagged():
    visit = "[doctor] how is the knee ?\n[patient] it still hurts when i walk ."
    note = "PLAN\nCardiology consultation scheduled regarding recurrent syncopal episodes with telemetry monitoring."
    assert kinds_for(visit, note, "Cardiology") == {"unsupported"}


def test_a_reported_finding_with_a_word_nobody_said_is_flagged():
    visit = "[doctor] any trouble with your vision ?\n[patient] no , i checked my glasses last week ."
    flags = check(visit, "ROS\nShe reports double vision.").statements[0].flags
    assert [str(flag.kind) for flag in flags] == ["unsupported"]
    assert flags[0].message == "The note says double vision; nothing in the transcript says so."


def test_a_reported_habit_said_in_other_words_is_not_flagged():
    visit = "[doctor] do you smoke ?\n[patient] yeah , about a pack a day ."
    assert check(visit, "SOCIAL HISTORY\nPatient reports he is a smoker.").statements[0].flags == ()


def test_a_finding_placed_where_the_visit_never_goes_is_unsupported():
    visit = (
        "[doctor] so what brings you in today\n"
        "[patient] my right knee has been hurting for about two weeks\n"
        "[doctor] any swelling\n"
        "[patient] a little swelling yes\n"
    )
    flags = flags_for(visit, "HPI\nShe also reports pain in her left shoulder.", "shoulder")
    assert [(str(f.kind), f.message) for f in flags] == [
        ("unsupported", "The note says pain in the shoulder; the transcript never mentions the shoulder.")
    ]
    # the place the visit talks about, or no place at all, is not flagged
    assert flags_for(visit, "HPI\nShe reports right knee pain and swelling.", "knee") == []
    assert flags_for(visit, "HPI\nShe reports pain.", "pain") == []
