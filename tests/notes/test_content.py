"""A note's content as one typed value: its JSON round trip, the older stored shape, and the one boundary
where stored JSON is checked."""

from __future__ import annotations

from typing import Any

import pytest

from notes.content import UNCITED_MESSAGE, Flag, FlagKind, NoteContent, Section, Statement
from tests.notes.factories import draft_sections


def _flagged_content() -> NoteContent:
    return NoteContent(
        sections=(
            Section.from_statements(
                key="subjective",
                heading="Subjective",
                statements=(
                    Statement(text="Sleeps four hours a night.", evidence=(3, 1)),
                    Statement(
                        text="Takes sertraline 100 mg.",
                        evidence=(4,),
                        flags=(
                            Flag(FlagKind.DOSE, "The transcript says 50 mg.", (4,), said="fifty milligrams"),
                            Flag(FlagKind.MEDICATION, "Check the drug's name.", (4,)),
                        ),
                    ),
                    Statement(text="History of panic disorder.", evidence=(), flags=(Flag.uncited(),)),
                ),
            ),
            Section(key="plan", heading="Plan", text="Weekly CBT.", edited=True),
        )
    )


def test_content_survives_a_round_trip_through_json():
    content = _flagged_content()

    assert NoteContent.from_json(content.to_json()) == content


def test_content_is_stored_with_summaries_for_readers_of_the_json():
    stored = _flagged_content().to_json()

    subjective, plan = stored
    assert subjective["text"] == "Sleeps four hours a night.\nTakes sertraline 100 mg.\nHistory of panic disorder."
    assert subjective["evidence"] == [1, 3, 4]
    assert subjective["flags"] == ["dose", "medication", "unsupported"]
    assert [statement["supported"] for statement in subjective["statements"]] == [True, True, False]
    assert subjective["statements"][1]["flags"][0] == {
        "kind": "dose",
        "message": "The transcript says 50 mg.",
        "evidence": [4],
        "said": "fifty milligrams",
    }
    assert plan == {
        "key": "plan",
        "heading": "Plan",
        "text": "Weekly CBT.",
        "evidence": [],
        "flags": ["edited"],
        "statements": [],
    }


def test_a_statement_stored_before_flags_reads_as_it_was_recorded():
    stored = draft_sections({"plan": "Weekly CBT."}, unsupported={"assessment": "History of panic disorder."})

    content = NoteContent.from_json(stored)

    assessment = content.sections[2]
    assert [statement.supported for statement in assessment.statements] == [True, False]
    assert assessment.statements[1].flags == (Flag.uncited(),)
    assert assessment.statements[1].flags[0].message == UNCITED_MESSAGE
    assert assessment.flag_kinds == (FlagKind.UNSUPPORTED,)
    assert assessment.evidence == (3, 5)
    assert content.sections[3].text == "Weekly CBT."


def test_an_old_row_reads_back_unchanged_but_for_the_statements_flags():
    stored = draft_sections(unsupported={"assessment": "History of panic disorder."})

    rewritten = NoteContent.from_json(stored).to_json()

    for old, new in zip(stored, rewritten, strict=True):
        assert {key: value for key, value in new.items() if key != "statements"} == {
            key: value for key, value in old.items() if key != "statements"
        }
        assert [{k: v for k, v in s.items() if k != "flags"} for s in new["statements"]] == old["statements"]


def test_a_section_of_a_note_nobody_drafted_reads_without_statements():
    stored = [{"key": "plan", "heading": "Plan", "text": "Typed by hand.", "evidence": [], "flags": ["edited"]}]

    [plan] = NoteContent.from_json(stored).sections

    assert plan == Section(key="plan", heading="Plan", text="Typed by hand.", edited=True)


def test_the_sections_flags_are_read_from_its_statements_not_from_its_summary():
    stored = draft_sections()
    stored[0]["flags"] = ["unsupported", "medication", "edited"]

    subjective = NoteContent.from_json(stored).sections[0]

    assert subjective.flag_kinds == (FlagKind.EDITED,)


def test_a_statements_flags_decide_whether_it_is_supported():
    stored = draft_sections()
    stored[0]["statements"][0].update(supported=True, flags=[{"kind": "unsupported", "message": "Not said."}])

    [statement] = NoteContent.from_json(stored).sections[0].statements

    assert statement.flags == (Flag(FlagKind.UNSUPPORTED, "Not said.", ()),)
    assert not statement.supported


def test_flag_kinds_are_the_designs_each_defined_once_with_a_label():
    assert FlagKind.values == [
        "unsupported",
        "medication",
        "dose",
        "number",
        "laterality",
        "negation",
        "omitted_risk",
        "edited",
    ]
    assert len(set(FlagKind.labels)) == len(FlagKind.labels)
    assert FlagKind.EDITED.label == "Edited by clinician"
    assert FlagKind.UNSUPPORTED.label == "Unsupported statements"


def test_text_a_database_cannot_store_never_gets_into_the_value():
    statement = Statement(text="Weekly\x00 sessions.\ud800\r\nReview.", evidence=(1,))
    section = Section.from_statements(key="plan", heading="Pl\x00an", statements=(statement,))

    assert statement.text == "Weekly sessions.\nReview."
    assert (section.heading, section.text) == ("Plan", "Weekly sessions.\nReview.")
    assert Flag(FlagKind.NUMBER, "Age\x00 differs.", (), said="thirty\ud800").message == "Age differs."


@pytest.mark.parametrize(
    "sections",
    [
        pytest.param([], id="no sections"),
        pytest.param([{"key": "plan", "heading": "Plan"}, {"key": "plan", "heading": "Plan"}], id="repeated key"),
        pytest.param([{"key": "", "heading": "Plan"}], id="empty key"),
    ],
)
def test_a_note_needs_sections_with_distinct_keys(sections: list[dict[str, Any]]):
    with pytest.raises(ValueError, match=r"\S"):
        NoteContent.from_json(sections)


def test_the_value_itself_refuses_a_note_without_sections_or_with_a_repeated_key():
    plan = Section(key="plan", heading="Plan", text="")

    with pytest.raises(ValueError, match="at least one section"):
        NoteContent(sections=())
    with pytest.raises(ValueError, match="repeats the key 'plan'"):
        NoteContent(sections=(plan, plan))
    with pytest.raises(ValueError, match="needs a key"):
        Section(key="", heading="Plan", text="")


def _with_statement(statement: Any) -> list[dict[str, Any]]:
    return [{"key": "plan", "heading": "Plan", "text": "x", "statements": [statement]}]


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param("[]", id="a string"),
        pytest.param({"plan": "x"}, id="an object"),
        pytest.param(["plan"], id="a section that is not an object"),
        pytest.param([{"heading": "Plan", "text": "No key."}], id="no key"),
        pytest.param([{"key": ["plan"], "heading": "Plan"}], id="a key that is not a string"),
        pytest.param([{"key": "plan", "text": "No heading."}], id="no heading"),
        pytest.param([{"key": "plan", "heading": "Plan", "text": 3}], id="text not a string"),
        pytest.param([{"key": "plan", "heading": "Plan", "text": None}], id="text null"),
        pytest.param([{"key": "plan", "heading": "Plan", "evidence": ["s1"]}], id="evidence not ids"),
        pytest.param([{"key": "plan", "heading": "Plan", "evidence": [True]}], id="evidence a boolean"),
        pytest.param([{"key": "plan", "heading": "Plan", "evidence": 3}], id="evidence not a list"),
        pytest.param([{"key": "plan", "heading": "Plan", "flags": "edited"}], id="flags a string"),
        pytest.param([{"key": "plan", "heading": "Plan", "flags": [{"kind": "edited"}]}], id="section flags objects"),
        pytest.param([{"key": "plan", "heading": "Plan", "statements": {}}], id="statements not a list"),
        pytest.param(_with_statement("y"), id="a statement that is not an object"),
        pytest.param(_with_statement({"evidence": [1]}), id="a statement without text"),
        pytest.param(_with_statement({"text": "y", "supported": "yes"}), id="supported not a boolean"),
        pytest.param(_with_statement({"text": "y", "evidence": [1.5]}), id="statement evidence not ids"),
        pytest.param(_with_statement({"text": "y", "flags": "unsupported"}), id="statement flags a string"),
        pytest.param(_with_statement({"text": "y", "flags": ["unsupported"]}), id="a flag that is not an object"),
        pytest.param(_with_statement({"text": "y", "flags": [{"kind": "made_up"}]}), id="an unknown flag kind"),
        pytest.param(_with_statement({"text": "y", "flags": [{"message": "No kind."}]}), id="a flag without kind"),
        pytest.param(
            _with_statement({"text": "y", "flags": [{"kind": "dose", "message": 5}]}), id="a message not a string"
        ),
        pytest.param(
            _with_statement({"text": "y", "flags": [{"kind": "dose", "message": "m", "evidence": [False]}]}),
            id="flag evidence a boolean",
        ),
        pytest.param(
            _with_statement({"text": "y", "flags": [{"kind": "dose", "message": "m", "said": ["x"]}]}),
            id="said not a string",
        ),
    ],
)
def test_malformed_stored_content_is_refused_with_a_reason(stored: Any):
    with pytest.raises(ValueError, match=r"\S"):
        NoteContent.from_json(stored)


def test_repeated_segment_ids_are_read_once_in_their_order():
    stored = _with_statement({"text": "y", "evidence": [4, 2, 4], "supported": True})
    stored[0]["evidence"] = [4, 2, 4, 2]

    [plan] = NoteContent.from_json(stored).sections

    assert (plan.evidence, plan.statements[0].evidence) == ((4, 2), (4, 2))


def test_empty_content_has_the_templates_sections_and_nothing_else():
    content = NoteContent.empty([("subjective", "Subjective"), ("plan", "Plan")])

    assert content.to_json() == [
        {"key": "subjective", "heading": "Subjective", "text": "", "evidence": [], "flags": [], "statements": []},
        {"key": "plan", "heading": "Plan", "text": "", "evidence": [], "flags": [], "statements": []},
    ]
