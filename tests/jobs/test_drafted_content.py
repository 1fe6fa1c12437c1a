"""The draft stage turns the drafting model's answer into the note's content once, checking every citation."""

from __future__ import annotations

import pytest

from formats.builtin import BUILTIN_TEMPLATES, SectionSpec, TemplateSpec
from jobs.pipeline.draft import drafted_content
from jobs.providers.base import DraftResult, DraftSection, DraftStatement
from notes.content import UNCITED_MESSAGE, Flag, FlagKind

SOAP = BUILTIN_TEMPLATES["soap"]
TRANSCRIPT_IDS = {0, 1, 2, 3}


def _result(**statements: tuple[DraftStatement, ...]) -> DraftResult:
    sections = tuple(DraftSection(key=key, statements=items) for key, items in statements.items())
    return DraftResult(sections=sections, model="claude-test", prompt_version="draft-v3", usage={})


def test_drafted_content_has_every_template_section_in_order_with_its_heading():
    content = drafted_content(SOAP, _result(plan=(DraftStatement("Weekly CBT.", (2,)),)), valid_ids=TRANSCRIPT_IDS)

    assert [(s.key, s.heading) for s in content.sections] == [(s.key, s.heading) for s in SOAP.sections]
    assert [s.text for s in content.sections] == ["", "", "", "Weekly CBT."]


def test_citations_of_segments_the_transcript_does_not_have_are_dropped():
    result = _result(subjective=(DraftStatement("Sleeps four hours.", (3, 9, 1, 3)),))

    subjective = drafted_content(SOAP, result, valid_ids=TRANSCRIPT_IDS).sections[0]

    assert subjective.statements[0].evidence == (1, 3)
    assert subjective.statements[0].flags == ()
    assert subjective.evidence == (1, 3)
    assert subjective.flag_kinds == ()


def test_a_statement_left_without_a_valid_citation_is_kept_with_one_unsupported_flag():
    result = _result(
        assessment=(
            DraftStatement("Low mood.", (0,)),
            DraftStatement("History of panic disorder.", (42,)),
            DraftStatement("Lives alone.", ()),
        )
    )

    assessment = drafted_content(SOAP, result, valid_ids=TRANSCRIPT_IDS).sections[2]

    assert assessment.text == "Low mood.\nHistory of panic disorder.\nLives alone."
    assert [s.flags for s in assessment.statements] == [(), (Flag.uncited(),), (Flag.uncited(),)]
    assert assessment.statements[1].flags[0].message == UNCITED_MESSAGE
    assert assessment.flag_kinds == (FlagKind.UNSUPPORTED,)
    assert assessment.evidence == (0,)


def test_blank_statements_and_sections_the_template_does_not_have_are_left_out():
    result = _result(
        plan=(DraftStatement("  ", (1,)), DraftStatement(" Review in two weeks. ", (1,))),
        poetry=(DraftStatement("Roses are red.", (0,)),),
    )

    content = drafted_content(SOAP, result, valid_ids=TRANSCRIPT_IDS)

    assert [s.key for s in content.sections] == ["subjective", "objective", "assessment", "plan"]
    assert [s.text for s in content.sections[3].statements] == ["Review in two weeks."]


def test_a_template_that_repeats_a_section_key_cannot_hold_a_draft():
    broken = TemplateSpec(key="x", name="X", sections=(SectionSpec("a", "A", "…"), SectionSpec("a", "A", "…")))

    with pytest.raises(ValueError, match="repeats the key"):
        drafted_content(broken, _result(), valid_ids=TRANSCRIPT_IDS)
