from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Practice, User
from billing.services import subscription_start_trial
from formats.catalogue import get_template
from jobs.models import Job
from jobs.pipeline.draft import drafted_content
from jobs.pipeline.transcripts import segments_from_transcript
from jobs.providers.base import DraftResult, DraftSection, DraftStatement
from jobs.providers.stub import StubDrafter
from jobs.services import job_start
from jobs.tasks import run_job
from notes.checking import check_draft
from notes.services import note_apply_draft
from sessions.consent import consent_script_save
from sessions.models import ClinicalSession, ConsentScript, Transcript
from sessions.services import recording_replace, session_create

DEMO_RECORDING = Path(__file__).resolve().parents[3] / "sessions" / "demo" / "dialogue_short.webm"
DEMO_PRACTICE_SLUG = "demo-practice"
DEMO_CLINICIAN_EMAIL = "clinician@demo.sessionscribe.test"
DEMO_STAFF_EMAIL = "staff@demo.sessionscribe.test"
DEMO_PASSWORD = "sessionscribe-demo"  # noqa: S105 — a local demo account, printed on purpose
CHECKER_EXAMPLE_LABEL = "Demo client B (faithfulness checker example)"
# The slips put into the checker example's draft: the stub drafter's own sentences, each changed the way a drafting
# model can get a visit wrong (a drug and dose not said; a symptom the patient denied, reported).
DELIBERATE_SLIPS = (
    ("ibuprofen 400 milligrams", "naproxen 500 mg"),
    ("Denies any fever or neck stiffness.", "Reports a fever; denies neck stiffness."),
)
DEMO_CONSENT_SCRIPT = (
    "I would like to record our session so that I can write my notes afterwards. The recording is transcribed "
    "by software, used only for your record and deleted once the note is written. You can say no, or ask me to "
    "stop at any time, and it will not change your care. Do you agree to the recording?"
)


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo practice, its clinician and a sample session whose recording is processed; "
        "with the simulated providers, also a second session whose drafted note shows the faithfulness checker."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            practice, _ = Practice.objects.get_or_create(slug=DEMO_PRACTICE_SLUG, defaults={"name": "Demo Practice"})
            clinician = self._user(DEMO_CLINICIAN_EMAIL, "Dana Demo", staff=False)
            Membership.objects.get_or_create(
                user=clinician, practice=practice, defaults={"role": Membership.Role.OWNER}
            )
            staff = self._user(DEMO_STAFF_EMAIL, "Sam Staff", staff=True)
            # Made here rather than by accounts' practice_create, so its trial is started here too.
            subscription_start_trial(practice)
            if not ConsentScript.objects.filter(practice=practice).exists():
                consent_script_save(
                    practice=practice, text=DEMO_CONSENT_SCRIPT, require_before_processing=False, saved_by=clinician
                )
        if not ClinicalSession.objects.filter(practice=practice).exclude(client_label=CHECKER_EXAMPLE_LABEL).exists():
            session = session_create(
                practice=practice,
                clinician=clinician,
                client_label="Demo client A",
                occurred_at=timezone.now() - dt.timedelta(hours=2),
                note_type="medical",
                consent_method=ClinicalSession.ConsentMethod.VERBAL,
                created_by=clinician,
            )
            recording_replace(
                session=session,
                upload_path=DEMO_RECORDING,
                original_filename="dialogue_short.webm",
                uploaded_by=clinician,
            )
            # Processed by the worker that `./dev run` starts, as an upload on the page would be.
            job_start(session=session, requested_by=clinician)
        example = self._checker_example(practice, clinician)
        self.stdout.write(
            "Demo ready.\n"
            f"  Clinician login: {clinician.email} / {DEMO_PASSWORD}\n"
            f"  Staff admin login (/admin/): {staff.email} / {DEMO_PASSWORD}\n"
            f"  AI mode: {settings.AI_MODE}"
            + (" (transcripts and notes are simulated)" if settings.AI_MODE == "stub" else "")
        )
        if example is not None:
            where = reverse("clinical_sessions:detail", kwargs={"pk": example.pk})
            self.stdout.write(
                f"  Faithfulness checker example: the session “{CHECKER_EXAMPLE_LABEL}” ({where}) has a drafted "
                "note with two deliberate slips — naproxen 500 mg where the visit said ibuprofen 400 milligrams, and "
                "a fever the patient denied reported as present. Open it to see both flagged with the words as "
                "said, fix the drug in one click, and sign with the other flag acknowledged. The other demo notes "
                "are drafted faithfully."
            )

    def _checker_example(self, practice: Practice, clinician: User) -> ClinicalSession | None:
        """A second sample session, processed now (before the worker starts), whose drafted note carries the
        deliberate slips the faithfulness checker is there to catch. Only with the simulated providers."""
        if settings.AI_MODE != "stub":
            return None
        existing = ClinicalSession.objects.filter(practice=practice, client_label=CHECKER_EXAMPLE_LABEL).first()
        if existing is not None:
            return existing
        session = session_create(
            practice=practice,
            clinician=clinician,
            client_label=CHECKER_EXAMPLE_LABEL,
            occurred_at=timezone.now() - dt.timedelta(hours=1),
            note_type="medical",
            consent_method=ClinicalSession.ConsentMethod.VERBAL,
            created_by=clinician,
        )
        recording_replace(
            session=session, upload_path=DEMO_RECORDING, original_filename="dialogue_short.webm", uploaded_by=clinician
        )
        job = job_start(session=session, requested_by=clinician)
        run_job(str(job.pk))
        job.refresh_from_db()
        transcript = Transcript.objects.filter(session=session).first()
        template = get_template(practice, session.note_type)
        if job.status != Job.Status.SUCCEEDED or transcript is None or template is None:
            return session
        faithful = StubDrafter().draft(template=template, segments=segments_from_transcript(transcript))
        slipped = with_deliberate_slips(faithful)
        draft = drafted_content(template, slipped, valid_ids={int(s["id"]) for s in transcript.segments})
        note_apply_draft(
            session=session,
            draft=check_draft(draft, transcript.segments).content,
            draft_ref=f"{job.pk}:checker-example",
            model=slipped.model,
            prompt_version=slipped.prompt_version,
        )
        return session

    def _user(self, email: str, full_name: str, *, staff: bool) -> User:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.full_name = full_name
        user.is_staff = staff
        user.is_superuser = staff
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user


def with_deliberate_slips(result: DraftResult) -> DraftResult:
    """The stub drafter's faithful draft with ``DELIBERATE_SLIPS`` made, each once."""
    remaining = list(DELIBERATE_SLIPS)
    sections = []
    for section in result.sections:
        statements = []
        for statement in section.statements:
            text = statement.text
            for slip in list(remaining):
                if slip[0] in text:
                    text = text.replace(slip[0], slip[1], 1)
                    remaining.remove(slip)
            statements.append(DraftStatement(text=text, evidence=statement.evidence))
        sections.append(DraftSection(key=section.key, statements=tuple(statements)))
    return DraftResult(
        sections=tuple(sections),
        model=result.model,
        prompt_version=f"{result.prompt_version}+deliberate-slips",
        usage=result.usage,
    )
