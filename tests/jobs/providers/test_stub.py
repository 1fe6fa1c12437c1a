from __future__ import annotations

from pathlib import Path

import pytest

from formats.builtin import BUILTIN_TEMPLATES
from jobs.providers.base import ProviderError, Segment
from jobs.providers.stub import StubDrafter, StubTranscriber

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


def test_stub_transcript_follows_the_audio_duration():
    result = StubTranscriber().transcribe(AUDIO / "dialogue_short.webm")

    assert result.duration == pytest.approx(131.97, abs=0.05)
    assert len(result.segments) == 22
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(result.duration, abs=0.001)
    assert all(a.end == b.start for a, b in zip(result.segments, result.segments[1:], strict=False))
    assert all(5.0 <= s.end - s.start <= 6.0 for s in result.segments)


def test_stub_transcript_alternates_clinician_and_client():
    result = StubTranscriber().transcribe(AUDIO / "jfk.flac")

    assert [s.speaker for s in result.segments] == ["clinician", "client"]
    assert [s.id for s in result.segments] == [0, 1]
    assert result.text == " ".join(s.text for s in result.segments)


def test_stub_transcript_is_deterministic():
    first = StubTranscriber().transcribe(AUDIO / "dialogue_short.mp3", language="en")
    second = StubTranscriber().transcribe(AUDIO / "dialogue_short.mp3", language="en")

    assert first == second
    assert first.language == "en"


def test_stub_transcriber_uses_a_given_duration():
    result = StubTranscriber().transcribe(AUDIO / "jfk.flac", duration=30.0)

    assert len(result.segments) == 5
    assert result.segments[-1].end == 30.0


def test_stub_transcriber_refuses_what_is_not_audio():
    with pytest.raises(ProviderError) as caught:
        StubTranscriber().transcribe(AUDIO / "bad_not_audio.webm")

    assert caught.value.code == "validation_failed"
    assert caught.value.retryable is False


def _demo_segments():
    return StubTranscriber().transcribe(AUDIO / "dialogue_short.webm").segments


@pytest.mark.parametrize("key", sorted(BUILTIN_TEMPLATES))
def test_stub_draft_writes_clinical_statements_that_cite_the_segments_they_come_from(key):
    segments = _demo_segments()
    by_id = {segment.id: segment for segment in segments}
    template = BUILTIN_TEMPLATES[key]

    result = StubDrafter().draft(template=template, segments=segments)

    assert [section.key for section in result.sections] == [spec.key for spec in template.sections]
    statements = [statement for section in result.sections for statement in section.statements]
    assert len(statements) >= 5
    for statement in statements:
        assert not statement.text.lower().startswith(("the clinician said", "the client said", "the speaker said"))
        assert statement.text[0].isupper()
        assert statement.text.endswith(".")
        assert statement.evidence
        assert all(i in by_id for i in statement.evidence)
        assert statement.text != by_id[statement.evidence[0]].text
    assert result == StubDrafter().draft(template=template, segments=segments)


def test_stub_draft_of_a_visit_reads_like_a_clinicians_note():
    result = StubDrafter().draft(template=BUILTIN_TEMPLATES["medical"], segments=_demo_segments())

    sections = {section.key: [(s.text, s.evidence) for s in section.statements] for section in result.sections}
    assert sections["chief_complaint"] == [("Headache for three days, mostly on the right side.", (1,))]
    assert ("Reports a headache for three days, mostly on the right side.", (1,)) in sections["hpi"]
    assert ("Denies any fever or neck stiffness.", (7,)) in sections["ros"]
    assert ("Blood pressure is 128 over 82 and pulse is 76.", (12,)) in sections["exam"]
    assert sections["results"] == []
    assert ("Advised to keep a headache diary and limit ibuprofen to three days a week.", (18,)) in sections[
        "assessment_plan"
    ]


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("I have had a headache for three days.", "Reports a headache for three days."),
        ("Well, I've been taking sertraline 50 mg every morning.", "Reports taking sertraline 50 mg every morning."),
        ("No, I haven't had any chest pain.", "Denies any chest pain."),
        ("I don't have a cough.", "Denies a cough."),
        ("I feel tired all the time", "Reports feeling tired all the time."),
        ("My sleep has been poor for two weeks.", "Reports that their sleep has been poor for two weeks."),
    ],
)
def test_stub_draft_rewrites_the_patients_first_person_as_a_note_does(said, written):
    segments = [Segment(id=7, start=0.0, end=4.0, text=said, speaker="client")]

    result = StubDrafter().draft(template=BUILTIN_TEMPLATES["soap"], segments=segments)

    assert [(s.text, s.evidence) for s in result.sections[0].statements] == [(written, (7,))]


def test_stub_draft_leaves_out_questions_and_small_talk():
    segments = [
        Segment(id=0, start=0.0, end=2.0, text="Good morning, how are you?", speaker="clinician"),
        Segment(id=1, start=2.0, end=4.0, text="Thank you, doctor.", speaker="client"),
        Segment(id=2, start=4.0, end=6.0, text="Is that normal?", speaker="client"),
    ]

    result = StubDrafter().draft(template=BUILTIN_TEMPLATES["soap"], segments=segments)

    assert all(section.statements == () for section in result.sections)


def test_stub_draft_of_an_empty_transcript_has_empty_sections():
    result = StubDrafter().draft(template=BUILTIN_TEMPLATES["dap"], segments=[])

    assert [(section.key, section.statements) for section in result.sections] == [
        ("data", ()),
        ("assessment", ()),
        ("plan", ()),
    ]
