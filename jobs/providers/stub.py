"""Deterministic stand-ins for demo mode (``AI_MODE=stub``): no network, same input, same output.

The transcript follows the audio's real duration, so chunking, stitching and timestamps behave as in live mode;
its words are a fixed primary-care visit (``DIALOGUE``). The drafter writes the note a clinician would expect
from that conversation, in short clinical sentences, each citing the segment it came from: the patient's
symptoms, medications and their durations for the history, what they deny for the review of systems, the
clinician's findings for the examination, impressions for the assessment and advice for the plan. It works on
any transcript, by rules on the words (no model), so what it writes is only ever a rephrasing of what was said.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from formats.builtin import SectionSpec, TemplateSpec
from jobs.providers.audio_duration import measure_duration
from jobs.providers.base import (
    DraftResult,
    DraftSection,
    DraftStatement,
    Segment,
    TranscriptionResult,
)

SERVICE = "demo transcription"
SEGMENT_SECONDS = 6.0
STATEMENTS_PER_SECTION = 6

CLINICIAN = "clinician"
CLIENT = "client"

# One short visit, in turns: the transcript of a recording longer than this starts again from the top.
DIALOGUE: tuple[tuple[str, str], ...] = (
    (CLINICIAN, "Good morning. What brings you in today?"),
    (CLIENT, "I have had a headache for three days, mostly on the right side."),
    (CLINICIAN, "Has anything helped with the pain?"),
    (CLIENT, "I've been taking ibuprofen 400 milligrams twice a day, and it helps a little."),
    (CLINICIAN, "Any nausea, vomiting or changes in your vision?"),
    (CLIENT, "I have had some nausea in the mornings, but no vomiting, and my vision is fine."),
    (CLINICIAN, "Any fever or stiffness in your neck?"),
    (CLIENT, "No, I haven't had any fever or neck stiffness."),
    (CLINICIAN, "How have you been sleeping?"),
    (CLIENT, "I've been sleeping about five hours a night because of stress at work."),
    (CLINICIAN, "Let me check your blood pressure and look at your eyes."),
    (CLIENT, "Sure, go ahead."),
    (CLINICIAN, "Your blood pressure is 128 over 82 and your pulse is 76."),
    (CLIENT, "Is that normal?"),
    (CLINICIAN, "Yes. Your neurological exam is normal and there is no neck stiffness."),
    (CLIENT, "That's a relief, I was worried it was something serious."),
    (CLINICIAN, "This looks like a tension-type headache, made worse by poor sleep."),
    (CLIENT, "What should I do about it?"),
    (CLINICIAN, "I'd like you to keep a headache diary and limit ibuprofen to three days a week."),
    (CLIENT, "Okay, I can do that."),
    (CLINICIAN, "Let's book a follow-up in two weeks, and come back sooner if the headache gets worse."),
    (CLIENT, "Thank you, doctor."),
)


class StubTranscriber:
    model = "stub-transcriber"

    def transcribe(
        self, path: Path, *, language: str | None = None, duration: float | None = None
    ) -> TranscriptionResult:
        if duration is None:
            duration = measure_duration(path, service=SERVICE)
        count = math.ceil(duration / SEGMENT_SECONDS) if duration > 0 else 0
        length = duration / count if count else 0.0
        segments = tuple(
            Segment(
                id=index,
                start=round(index * length, 3),
                end=round(duration if index == count - 1 else (index + 1) * length, 3),
                text=DIALOGUE[index % len(DIALOGUE)][1],
                speaker=DIALOGUE[index % len(DIALOGUE)][0],
            )
            for index in range(count)
        )
        return TranscriptionResult(
            text=" ".join(segment.text for segment in segments),
            language=language or "en",
            duration=duration,
            segments=segments,
            model=self.model,
            provider_metadata={"provider": "stub"},
        )


class StubDrafter:
    model = "stub-drafter"
    prompt_version = "stub-v2"

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        sections = _draft_sections(template, clinical_findings(segments))
        return DraftResult(sections=sections, model=self.model, prompt_version=self.prompt_version, usage={})


# --- What was said, sorted by what it is ------------------------------------------------------------


class Kind(enum.Enum):
    HISTORY = "history"  # the patient's symptoms, medications, sleep, durations
    SYSTEMS = "systems"  # symptoms asked about by system, and what the patient denies
    EXAM = "exam"  # the clinician's findings
    RESULTS = "results"  # tests discussed
    ASSESSMENT = "assessment"  # the clinician's impression
    ADVICE = "advice"  # what the clinician advised or prescribed
    PLAN = "plan"  # what happens next: follow-up, referrals, tests to come
    RESPONSE = "response"  # how the patient took the plan


@dataclass(frozen=True)
class Finding:
    kind: Kind
    text: str
    segment_id: int


_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_INTERJECTION = re.compile(
    r"^(?:well|so|yes|yeah|yep|no|nope|um+|uh+|okay|ok|oh|right|alright|actually|honestly|sure)\b[,.!]?\s*",
    re.IGNORECASE,
)
_SYSTEMS_WORDS = re.compile(
    r"\b(?:nausea|vomit\w*|vision|fever|chills|cough\w*|breath\w*|chest pain|dizz\w*|rash|appetite|weight|"
    r"stiff\w*|numb\w*|tingl\w*|diarrh\w*|constipat\w*|urin\w*|palpitation\w*|sweat\w*)\b",
    re.IGNORECASE,
)
_HISTORY_WORDS = re.compile(
    r"\b(?:pain\w*|ache\w*|headache\w*|hurt\w*|sore|tired|fatigue\w*|sleep\w*|anxi\w*|depress\w*|mood|stress\w*|"
    r"worse|better|taking|take|took|medication\w*|milligrams?|mg|tablets?|pills?|days?|weeks?|months?|years?|"
    r"since|started|drink\w*|smok\w*|panic\w*|worr\w*)\b",
    re.IGNORECASE,
)
_DENIAL = re.compile(r"\b(?:haven't|have not|don't|do not|didn't|did not|no)\b", re.IGNORECASE)
_EXAM_WORDS = re.compile(
    r"\b(?:blood pressure|pulse|heart rate|temperature|oxygen|saturation|exam\w*|lungs?|heart sounds|abdomen|"
    r"tender\w*|reflex\w*|pupils?|neurolog\w*|swelling|looks? (?:well|tired|pale)|appears?|bmi|weighs?)\b",
    re.IGNORECASE,
)
_RESULTS_WORDS = re.compile(
    r"\b(?:results?|blood tests?|blood work|x-?rays?|scans?|mri|ct|ecg|ekg|levels?|came back)\b", re.IGNORECASE
)
_ASSESSMENT_WORDS = re.compile(
    r"\b(?:looks like|sounds like|seems like|likely|probably|consistent with|diagnos\w*|impression)\b", re.IGNORECASE
)
_PLAN_WORDS = re.compile(
    r"\b(?:like you to|want you to|you should|please|try to|let's|we'll|we will|i'll|i will|going to|prescrib\w*|"
    r"refer\w*|follow-?up|come back|return|diary|appointment|increase|decrease|continue|stop|start)\b",
    re.IGNORECASE,
)
_AGREEMENT = re.compile(
    r"^(?:okay|ok|sure|alright|yes|yeah|sounds good|that sounds good)?[,.!]?\s*"
    r"(?:i can do that|i will|i'll do that|i'll try|sounds good|that works|will do|makes sense)\b",
    re.IGNORECASE,
)
_SKIPPED_OPENINGS = re.compile(
    r"^(?:good (?:morning|afternoon|evening)|hello|hi|thank\w*|bye|goodbye|let me|let us|can you|could you|"
    r"go ahead|see you)\b",
    re.IGNORECASE,
)


def clinical_findings(segments: Sequence[Segment]) -> list[Finding]:
    """Every sentence of the transcript that says something clinical, rephrased, with the segment it came from."""
    findings: list[Finding] = []
    for segment in segments:
        speaking = _speaker_role(segment)
        for sentence in _sentences(segment.text):
            found = _patient_finding(sentence) if speaking == CLIENT else _clinician_finding(sentence)
            if found is not None:
                kind, text = found
                findings.append(Finding(kind=kind, text=text, segment_id=segment.id))
    return findings


def _speaker_role(segment: Segment) -> str:
    speaker = (segment.speaker or "").lower()
    if speaker in ("clinician", "doctor", "therapist", "provider", "nurse", "counselor", "counsellor"):
        return CLINICIAN
    if speaker in ("client", "patient"):
        return CLIENT
    # Unnamed speakers: who speaks of themselves in the first person is taken for the patient.
    return CLIENT if re.match(r"^\W*(?:\w+,\s*)?(?:i|i'm|i've|my)\b", segment.text, re.IGNORECASE) else CLINICIAN


def _sentences(text: str) -> list[str]:
    return [match.group(0).strip() for match in _SENTENCE.finditer(" ".join(text.split())) if match.group(0).strip()]


def _finish(text: str) -> str:
    text = text.strip().rstrip(",;:")
    text = re.sub(r"[.!]+$", "", text)
    return text[:1].upper() + text[1:] + "." if text else ""


# First person (the patient speaking) to the third person of a note.
_FIRST_PERSON = (
    (r"\bI'm\b", "they are"),
    (r"\bI am\b", "they are"),
    (r"\bI've\b", "they have"),
    (r"\bI was\b", "they were"),
    (r"\bI'll\b", "they will"),
    (r"\bI'd\b", "they would"),
    (r"\bI\b", "they"),
    (r"\bmyself\b", "themselves"),
    (r"\bmy\b", "their"),
    (r"\bme\b", "them"),
    (r"\bmine\b", "theirs"),
)
# Second person (the clinician speaking to the patient) likewise.
_SECOND_PERSON = (
    (r"\byou're\b", "they are"),
    (r"\byou've\b", "they have"),
    (r"\byou'll\b", "they will"),
    (r"\byourself\b", "themselves"),
    (r"\byour\b", "their"),
    (r"\byou\b", "they"),
    (r"\bcome back\b", "return"),
)


def _shifted(text: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text


def _patient(text: str) -> str:
    return _shifted(text, _FIRST_PERSON)


Rewrite = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_PATIENT_REWRITES: tuple[Rewrite, ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), rewrite)
    for pattern, rewrite in (
        (r"^I(?: have|'ve)(?: not|n't) (?:had|noticed|felt|been having) (.+)$", lambda m: f"Denies {_patient(m[1])}"),
        (r"^I (?:don't|do not|didn't|did not) (?:have|get|feel|notice) (.+)$", lambda m: f"Denies {_patient(m[1])}"),
        (r"^I(?: have|'ve)(?: not|n't) (.+)$", lambda m: f"Has not {_patient(m[1])}"),
        (r"^I(?: have|'ve) (?:had|been having|got|developed) (.+)$", lambda m: f"Reports {_patient(m[1])}"),
        (r"^I(?: have|'ve) been (\w+ing) (.+)$", lambda m: f"Reports {m[1].lower()} {_patient(m[2])}"),
        (r"^I(?:'m| am) not (.+)$", lambda m: f"Reports not {_patient(m[1])}"),
        (r"^I(?:'m| am) (\w+ing) (.+)$", lambda m: f"Reports {m[1].lower()} {_patient(m[2])}"),
        (r"^I (?:take|use) (.+)$", lambda m: f"Reports taking {_patient(m[1])}"),
        (r"^I (?:feel|felt) (.+)$", lambda m: f"Reports feeling {_patient(m[1])}"),
        (r"^I(?:'m| am) (.+)$", lambda m: f"Reports being {_patient(m[1])}"),
        (r"^I have (.+)$", lambda m: f"Reports {_patient(m[1])}"),
        (r"^I (?:was|got) (.+)$", lambda m: f"Was {_patient(m[1])}"),
        (r"^I (\w+) (.+)$", lambda m: f"Reports that they {m[1].lower()} {_patient(m[2])}"),
        (r"^My (.+)$", lambda m: f"Reports that their {_patient(m[1])}"),
        (r"^It (started|began) (.+)$", lambda m: f"Symptoms {m[1].lower()} {_patient(m[2])}"),
    )
)


def _patient_finding(sentence: str) -> tuple[Kind, str] | None:
    if sentence.endswith("?") or _SKIPPED_OPENINGS.match(sentence):
        return None
    if _AGREEMENT.match(sentence):
        return Kind.RESPONSE, "Agrees with the plan."
    core = _INTERJECTION.sub("", sentence)
    clinical = _SYSTEMS_WORDS.search(core) or _HISTORY_WORDS.search(core)
    if not core or not clinical:
        return None
    for pattern, rewrite in _PATIENT_REWRITES:
        match = pattern.match(core.rstrip(".!"))
        if match:
            text = _finish(rewrite(match))
            break
    else:
        return None
    if _SYSTEMS_WORDS.search(core) and (_DENIAL.search(sentence) or not _HISTORY_WORDS.search(core)):
        return Kind.SYSTEMS, text
    return Kind.HISTORY, text


def _clinician(text: str) -> str:
    return _shifted(text, _SECOND_PERSON)


_CLINICIAN_REWRITES: tuple[tuple[Kind, re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE), rewrite)
    for kind, pattern, rewrite in (
        (
            Kind.ASSESSMENT,
            r"^(?:this|it) (?:looks|sounds|seems) like (.+)$",
            lambda m: f"Presentation consistent with {m[1]}",
        ),
        (Kind.ASSESSMENT, r"^I think (?:this|it) (?:is|'s) (.+)$", lambda m: f"Impression: {_clinician(m[1])}"),
        (Kind.ASSESSMENT, r"^(?:I think )?you(?:'ve got| have) (.+)$", lambda m: f"Likely {_clinician(m[1])}"),
        (Kind.ADVICE, r"^I(?:'d| would) like you to (.+)$", lambda m: f"Advised to {_clinician(m[1])}"),
        (Kind.ADVICE, r"^I want you to (.+)$", lambda m: f"Advised to {_clinician(m[1])}"),
        (Kind.ADVICE, r"^(?:you should|please|try to) (.+)$", lambda m: f"Advised to {_clinician(m[1])}"),
        (Kind.PLAN, r"^let's (.+)$", lambda m: f"Plan to {_clinician(m[1])}"),
        (Kind.PLAN, r"^we(?:'ll| will| are going to|'re going to) (.+)$", lambda m: f"Will {_clinician(m[1])}"),
        (Kind.ADVICE, r"^I(?:'m| am) (prescrib|referr|order)ing (.+)$", lambda m: f"{_past(m[1])} {_clinician(m[2])}"),
        (Kind.PLAN, r"^I(?:'ll| will|'m going to| am going to) (.+)$", lambda m: f"Clinician will {_clinician(m[1])}"),
    )
)


def _past(stem: str) -> str:
    return {"prescrib": "Prescribed", "referr": "Referred", "order": "Ordered"}[stem.lower()]


def _finding_sentence(text: str) -> str:
    # "Your blood pressure is 128 over 82" is the finding "Blood pressure is 128 over 82".
    text = re.sub(r"^(?:I can see (?:that )?|I found (?:that )?|on exam(?:ination)?,?\s*)", "", text, flags=re.I)
    return re.sub(r"\byour\s+", "", text, flags=re.IGNORECASE)


def _clinician_finding(sentence: str) -> tuple[Kind, str] | None:
    if sentence.endswith("?") or _SKIPPED_OPENINGS.match(sentence):
        return None
    core = _INTERJECTION.sub("", sentence).rstrip(".!")
    if not core:
        return None
    for kind, pattern, rewrite in _CLINICIAN_REWRITES:
        match = pattern.match(core)
        if match:
            return kind, _finish(rewrite(match))
    if _RESULTS_WORDS.search(core):
        return Kind.RESULTS, _finish(_finding_sentence(core))
    if _EXAM_WORDS.search(core) and not _PLAN_WORDS.search(core):
        return Kind.EXAM, _finish(_finding_sentence(core))
    if _ASSESSMENT_WORDS.search(core):
        return Kind.ASSESSMENT, _finish(_clinician(core))
    return None


# --- Which findings go in which section ------------------------------------------------------------

# The first rule whose words appear in a section's key or heading says what it holds.
_SECTION_RULES: tuple[tuple[re.Pattern[str], tuple[Kind, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kinds)
    for pattern, kinds in (
        (r"assessment.{0,5}plan", (Kind.ASSESSMENT, Kind.ADVICE, Kind.PLAN)),
        (r"chief|complaint|concern|presenting|reason|problem", (Kind.HISTORY,)),
        (r"review of systems|\bros\b", (Kind.SYSTEMS,)),
        (r"\bhpi\b|present illness", (Kind.HISTORY,)),
        (r"subjective|history|behaviou?r|symptom", (Kind.HISTORY, Kind.SYSTEMS)),
        (r"\bdata\b", (Kind.HISTORY, Kind.SYSTEMS, Kind.EXAM)),
        (r"objective|exam|observ|vital|finding|mental status", (Kind.EXAM,)),
        (r"result|\blab|test|imaging", (Kind.RESULTS,)),
        (r"assessment|impression|diagnos|formulation", (Kind.ASSESSMENT,)),
        (r"intervention|treatment", (Kind.ADVICE,)),
        (r"response|progress", (Kind.RESPONSE,)),
        (r"goal", (Kind.HISTORY,)),
        (r"plan|next|follow|recommend|homework", (Kind.ADVICE, Kind.PLAN)),
    )
)


def _kinds_for(spec: SectionSpec) -> tuple[Kind, ...]:
    name = f"{spec.key.replace('_', ' ')} {spec.heading}"
    for pattern, kinds in _SECTION_RULES:
        if pattern.search(name):
            return kinds
    # A section of a practice's own format that none of the rules name holds the patient's account.
    return (Kind.HISTORY,)


def _is_chief_complaint(spec: SectionSpec) -> bool:
    return bool(re.search(r"chief|complaint|reason", f"{spec.key} {spec.heading}", re.IGNORECASE))


def _chief_complaint(text: str) -> str:
    # "Reports a headache for three days." is the complaint "Headache for three days."
    text = re.sub(r"^(?:reports|reports being)\s+(?:(?:a|an|some)\s+)?", "", text, flags=re.IGNORECASE)
    return _finish(text)


def _draft_sections(template: TemplateSpec, findings: list[Finding]) -> tuple[DraftSection, ...]:
    kinds = {spec.key: _kinds_for(spec) for spec in template.sections}
    if any(Kind.ADVICE in k and Kind.PLAN not in k for k in kinds.values()):
        # An intervention section holds the advice given; the plan then says only what happens next.
        kinds = {
            key: tuple(k for k in wanted if k != Kind.ADVICE or Kind.PLAN not in wanted)
            for key, wanted in kinds.items()
        }
    sections = []
    for spec in template.sections:
        chosen = [finding for finding in findings if finding.kind in kinds[spec.key]][:STATEMENTS_PER_SECTION]
        if _is_chief_complaint(spec):
            statements = tuple(
                DraftStatement(text=_chief_complaint(f.text), evidence=(f.segment_id,)) for f in chosen[:1]
            )
        else:
            statements = tuple(DraftStatement(text=f.text, evidence=(f.segment_id,)) for f in chosen)
        sections.append(DraftSection(key=spec.key, statements=statements))
    return tuple(sections)
