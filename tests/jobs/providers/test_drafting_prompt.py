from __future__ import annotations

import dataclasses

from formats.builtin import BUILTIN_TEMPLATES
from jobs.providers.base import Segment
from jobs.providers.drafting import build_user_prompt, draft_schema, format_timestamp, format_transcript


def test_timestamps_are_minutes_and_seconds_even_past_the_hour():
    assert format_timestamp(0.0) == "00:00"
    assert format_timestamp(65.9) == "01:05"
    assert format_timestamp(3725.0) == "62:05"


def test_transcript_lines_carry_id_time_speaker_and_flattened_text():
    segments = [
        Segment(id=7, start=61.2, end=64.0, text="Fine,\n  thanks.", speaker="client"),
        Segment(id=8, start=64.0, end=66.0, text="Good."),
    ]

    assert format_transcript(segments) == "[7] (01:01) client: Fine, thanks.\n[8] (01:04) Good."


def test_prompt_lists_every_section_of_the_template_in_order():
    template = BUILTIN_TEMPLATES["birp"]

    prompt = build_user_prompt(template, [])

    positions = [prompt.index(f'key "{section.key}"') for section in template.sections]
    assert positions == sorted(positions)
    assert all(section.instruction in prompt for section in template.sections)


def test_schema_allows_only_the_template_section_keys():
    schema = draft_schema(BUILTIN_TEMPLATES["dap"])

    key = schema["properties"]["sections"]["items"]["properties"]["key"]
    assert key["enum"] == ["data", "assessment", "plan"]
    assert schema["additionalProperties"] is False


def test_prompt_states_the_formats_length_in_one_line():
    brief = dataclasses.replace(BUILTIN_TEMPLATES["soap"], length="brief")

    lines = [line for line in build_user_prompt(brief, []).splitlines() if line.startswith("Length:")]

    assert lines == ["Length: brief: only the essentials, a few short statements per section"]
    assert "Length: standard" in build_user_prompt(BUILTIN_TEMPLATES["soap"], [])
