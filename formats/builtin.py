"""The note formats every practice has. Practices add their own as NoteTemplate rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class FormatLength(models.TextChoices):
    """How long a drafted note should be: the drafting prompt says it, the clinician chooses it per format."""

    BRIEF = "brief", "Brief"
    STANDARD = "standard", "Standard"
    DETAILED = "detailed", "Detailed"


@dataclass(frozen=True)
class SectionSpec:
    key: str
    heading: str
    instruction: str


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    name: str
    sections: tuple[SectionSpec, ...]
    length: str = FormatLength.STANDARD.value


def _spec(key: str, name: str, *sections: tuple[str, str, str]) -> TemplateSpec:
    return TemplateSpec(key=key, name=name, sections=tuple(SectionSpec(*s) for s in sections))


BUILTIN_TEMPLATES: dict[str, TemplateSpec] = {
    spec.key: spec
    for spec in (
        _spec(
            "soap",
            "SOAP",
            (
                "subjective",
                "Subjective",
                "The client's own account: presenting concerns, symptoms, history, in their words where useful.",
            ),
            (
                "objective",
                "Objective",
                "What the clinician observed or measured: appearance, affect, behaviour, vital signs, test results.",
            ),
            ("assessment", "Assessment", "The clinician's interpretation: progress, diagnosis or impressions, risk."),
            ("plan", "Plan", "Next steps: interventions, homework, referrals, medication changes, next appointment."),
        ),
        _spec(
            "dap",
            "DAP",
            (
                "data",
                "Data",
                "Subjective and objective information from the session: what was said, observed and done.",
            ),
            (
                "assessment",
                "Assessment",
                "The clinician's interpretation of the data: progress toward goals, clinical impressions, risk.",
            ),
            ("plan", "Plan", "Interventions, homework, and what happens next, including the next session."),
        ),
        _spec(
            "birp",
            "BIRP",
            (
                "behavior",
                "Behavior",
                "The client's presentation and reported behaviour: mood, affect, statements, concerns.",
            ),
            ("intervention", "Intervention", "What the clinician did: techniques, modalities, topics addressed."),
            ("response", "Response", "How the client responded to the interventions during the session."),
            ("plan", "Plan", "Next steps: homework, follow-up, referrals, the next session."),
        ),
        _spec(
            "girp",
            "GIRP",
            ("goals", "Goals", "The treatment goals addressed in this session."),
            ("intervention", "Intervention", "What the clinician did toward those goals."),
            ("response", "Response", "How the client responded and progressed toward the goals."),
            ("plan", "Plan", "Next steps toward the goals."),
        ),
        _spec(
            "pirp",
            "PIRP",
            ("problem", "Problem", "The presenting problem or concern addressed in this session."),
            ("intervention", "Intervention", "What the clinician did to address the problem."),
            ("response", "Response", "How the client responded to the interventions."),
            ("plan", "Plan", "Next steps: homework, follow-up, the next session."),
        ),
        _spec(
            "medical",
            "Medical visit",
            ("chief_complaint", "Chief complaint", "The main reason for the visit, briefly."),
            (
                "hpi",
                "History of present illness",
                "Onset, course, character, severity, modifying factors and associated symptoms.",
            ),
            ("ros", "Review of systems", "Symptoms reported or denied, by system."),
            ("exam", "Physical examination", "Examination findings stated during the visit."),
            ("results", "Results", "Laboratory, imaging and other results discussed."),
            (
                "assessment_plan",
                "Assessment and plan",
                "Each problem with its assessment and plan: tests, treatment, referrals, follow-up.",
            ),
        ),
    )
}
