"""A section's statements derived again from the text a clinician saved."""

from __future__ import annotations

import pytest

from notes.content import Flag, FlagKind, Section, Statement
from notes.statements import EDITED_MESSAGE, match_statements, rederive_statements, statement_key, statements_of

DOSE = Flag(FlagKind.DOSE, "The transcript says 50 mg.", (4,), said="fifty milligrams")


def _drafted() -> Section:
    return Section.from_statements(
        key="subjective",
        heading="Subjective",
        statements=(
            Statement("Reports a headache for three days.", (1,)),
            Statement("Takes ibuprofen 400 mg twice a day.", (3,), (DOSE,)),
            Statement("Lives alone.", (), (Flag.uncited(),)),
        ),
    )


@pytest.mark.parametrize(
    ("text", "statements"),
    [
        ("", []),
        ("One line.", ["One line."]),
        ("First sentence. Second one! Third?", ["First sentence.", "Second one!", "Third?"]),
        (
            "- a bullet\n* another\n• third\n1. numbered\n2) again",
            ["a bullet", "another", "third", "numbered", "again"],
        ),
        ("Takes 2.5 mg daily. Seen by Dr. Lee today.", ["Takes 2.5 mg daily.", "Seen by Dr. Lee today."]),
        ("Line one\r\n\r\n  Line two  ", ["Line one", "Line two"]),
        ('She said "stop." Then left.', ['She said "stop."', "Then left."]),
        ("e.g. sleep hygiene. BP 120/80.", ["e.g. sleep hygiene.", "BP 120/80."]),
    ],
)
def test_a_section_text_splits_into_its_bullets_and_sentences(text, statements):
    assert [statement.text for statement in match_statements((), text)] == statements


def test_statement_keys_ignore_case_spacing_bullets_and_closing_punctuation():
    assert statement_key("- Reports  a HEADACHE for three days.") == statement_key("reports a headache for three days")
    assert statement_key("Takes 40 mg.") != statement_key("Takes 400 mg.")


def test_an_unchanged_text_keeps_the_section_as_it_was():
    section = _drafted()

    assert rederive_statements(section, section.text) is section
    assert rederive_statements(section, section.text.replace("\n", "\r\n")) is section


def test_statements_that_still_match_keep_their_evidence_and_flags_and_the_rest_are_marked_edited():
    section = _drafted()
    new_text = (
        "- reports a headache for three days\nTakes ibuprofen 400 mg twice a day.  Sleeps badly.\nLives with a partner."
    )

    result = rederive_statements(section, new_text)

    assert result.text == new_text
    assert result.edited
    assert [(s.text, s.evidence) for s in result.statements] == [
        ("reports a headache for three days", (1,)),
        ("Takes ibuprofen 400 mg twice a day.", (3,)),
        ("Sleeps badly.", ()),
        ("Lives with a partner.", ()),
    ]
    assert result.statements[0].flags == ()
    assert result.statements[1].flags == (DOSE,)
    assert [flag.kind for s in result.statements[2:] for flag in s.flags] == [FlagKind.EDITED, FlagKind.EDITED]
    assert result.statements[2].flags[0].message == EDITED_MESSAGE
    assert result.statements[2].flags[0].kind.label == "Edited by clinician"
    assert result.evidence == (1, 3)
    assert result.flag_kinds == (FlagKind.DOSE, FlagKind.EDITED)


def test_rewriting_an_unsupported_statement_resolves_its_flag():
    result = rederive_statements(_drafted(), "Lives alone since March.")

    assert [flag.kind for flag in result.statements[0].flags] == [FlagKind.EDITED]
    assert result.evidence == ()


def test_a_section_written_from_nothing_is_all_edited_statements():
    empty = Section(key="plan", heading="Plan", text="")

    result = rederive_statements(empty, "Review in two weeks. Keep a headache diary.")

    assert [s.text for s in result.statements] == ["Review in two weeks.", "Keep a headache diary."]
    assert all(s.flags[0].kind == FlagKind.EDITED and s.evidence == () for s in result.statements)


def test_a_drafted_statement_of_several_sentences_stays_one_statement():
    drafted = Section.from_statements(
        key="plan",
        heading="Plan",
        statements=(Statement("Keep a diary. Review in two weeks.", (5,)), Statement("Sleep hygiene.", (6,))),
    )

    result = rederive_statements(drafted, drafted.text + "\nCall if worse. Bring the diary.")

    assert [(s.text, s.evidence) for s in result.statements] == [
        ("Keep a diary. Review in two weeks.", (5,)),
        ("Sleep hygiene.", (6,)),
        ("Call if worse.", ()),
        ("Bring the diary.", ()),
    ]


def test_a_sections_statements_are_its_stored_ones_while_they_are_its_text():
    drafted = _drafted()

    assert statements_of(drafted) == drafted.statements


def test_a_section_whose_text_moved_on_without_its_statements_is_read_from_its_text():
    # As notes were saved before statements were derived again: new text, the draft's statements.
    drafted = _drafted()
    stale = Section(
        key=drafted.key,
        heading=drafted.heading,
        text="Reports a headache for three days.\nNew sentence.",
        statements=drafted.statements,
        edited=True,
    )

    assert [(s.text, s.evidence, [f.kind for f in s.flags]) for s in statements_of(stale)] == [
        ("Reports a headache for three days.", (1,), []),
        ("New sentence.", (), [FlagKind.EDITED]),
    ]
