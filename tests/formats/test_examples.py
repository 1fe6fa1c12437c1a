"""A format proposed from an example note: headings by their typography, instructions from the text under them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from formats.examples import NoHeadingsFound, propose_format_from_example
from formats.validation import MAX_EXAMPLE_LENGTH, MAX_SECTIONS

MIXED_NOTE = """\
SUBJECTIVE
Client reports feeling anxious about returning to work after three weeks of leave. Sleep is poor.

Objective:
Alert and oriented. BP 120/80.

## Assessment
- Generalised anxiety, improving with CBT.

**Plan**
Continue weekly CBT. Review in two weeks.
"""


def _headings(text: str) -> list[str]:
    return [section.heading for section in propose_format_from_example(text).sections]


def test_every_kind_of_heading_is_found_in_order():
    assert _headings(MIXED_NOTE) == ["Subjective", "Objective", "Assessment", "Plan"]


def test_each_instruction_is_the_first_sentence_under_the_heading():
    sections = propose_format_from_example(MIXED_NOTE).sections
    assert sections[0].instruction == (
        "Like: Client reports feeling anxious about returning to work after three weeks of leave."
    )
    assert sections[2].instruction == "Like: Generalised anxiety, improving with CBT."


def test_a_long_first_sentence_is_shortened_at_a_word():
    sentence = "The client described " + "a very long account of the week " * 10 + "in detail."
    instruction = propose_format_from_example(f"NOTES\n{sentence}").sections[0].instruction
    assert instruction.startswith("Like: The client described a very long")
    assert instruction.endswith("…")
    assert len(instruction) <= len("Like: ") + 121


def test_a_heading_with_nothing_under_it_gets_a_plain_instruction():
    section = propose_format_from_example("PLAN\n").sections[0]
    assert section.instruction == "What belongs under “Plan”."


def test_uppercase_headings_read_as_sentences_but_abbreviations_stay():
    assert _headings("HISTORY OF PRESENT ILLNESS\nx\nHPI\ny\nA/P\nz") == ["History of present illness", "HPI", "A/P"]


def test_uppercase_content_with_numbers_is_not_a_heading():
    assert _headings("VITALS\nBP 120/80\nHR 72") == ["Vitals"]


def test_labels_with_text_on_the_same_line_are_headings_when_nothing_else_is():
    proposal = propose_format_from_example("Subjective: feels better. Sleeps well.\nPlan: continue weekly sessions")
    assert [s.heading for s in proposal.sections] == ["Subjective", "Plan"]
    assert proposal.sections[0].instruction == "Like: feels better."


def test_inline_labels_inside_a_note_with_headings_stay_content():
    assert _headings("## Exam\nBP: 120/80\nHR: 72\n## Plan\nReview") == ["Exam", "Plan"]


def test_repeated_headings_get_distinct_keys():
    keys = [s.key for s in propose_format_from_example("PLAN\na\nPLAN\nb").sections]
    assert keys == ["plan", "plan_2"]


def test_section_keys_are_identifiers_derived_from_headings():
    keys = [s.key for s in propose_format_from_example("Chief complaint:\nx\n## 2nd visit\ny").sections]
    assert keys == ["chief_complaint", "section_2nd_visit"]


def test_length_follows_how_much_the_example_says():
    assert propose_format_from_example("PLAN\nReview.").length == "brief"
    assert propose_format_from_example("PLAN\n" + "word " * 60).length == "standard"
    assert propose_format_from_example("PLAN\n" + "word " * 200).length == "detailed"


def test_at_most_thirty_sections_are_proposed():
    example = "\n".join(f"## Part {n}\ntext" for n in range(40))
    assert len(propose_format_from_example(example).sections) == MAX_SECTIONS


def test_an_example_without_headings_is_refused_with_what_would_work():
    with pytest.raises(NoHeadingsFound, match="SUBJECTIVE"):
        propose_format_from_example("the client said they felt better and we agreed to meet again next week.")


@pytest.mark.parametrize("text", ["", "   \n ", "PLAN\nok\x00", "x" * (MAX_EXAMPLE_LENGTH + 1)])
def test_empty_binary_or_huge_examples_are_refused(text):
    with pytest.raises(ValidationError):
        propose_format_from_example(text)


def test_windows_line_endings_are_read_like_any_other():
    assert _headings("SUBJECTIVE\r\nfine\r\nPLAN\r\nreview") == ["Subjective", "Plan"]
