from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Practice, User
from billing.services import subscription_start_trial
from jobs.services import job_start
from sessions.consent import consent_script_save
from sessions.models import ClinicalSession, ConsentScript
from sessions.services import recording_replace, session_create

DEMO_RECORDING = Path(__file__).resolve().parents[3] / "sessions" / "demo" / "dialogue_short.webm"
DEMO_PRACTICE_SLUG = "demo-practice"
DEMO_CLINICIAN_EMAIL = "clinician@demo.sessionscribe.test"
DEMO_STAFF_EMAIL = "staff@demo.sessionscribe.test"
DEMO_PASSWORD = "sessionscribe-demo"  # noqa: S105 — a local demo account, printed on purpose
DEMO_CONSENT_SCRIPT = (
    "I would like to record our session so that I can write my notes afterwards. The recording is transcribed "
    "by software, used only for your record and deleted once the note is written. You can say no, or ask me to "
    "stop at any time, and it will not change your care. Do you agree to the recording?"
)


class Command(BaseCommand):
    help = "Create (or refresh) the demo practice, its clinician and a sample session whose recording is processed."

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
        if not ClinicalSession.objects.filter(practice=practice).exists():
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
        self.stdout.write(
            "Demo ready.\n"
            f"  Clinician login: {clinician.email} / {DEMO_PASSWORD}\n"
            f"  Staff admin login (/admin/): {staff.email} / {DEMO_PASSWORD}\n"
            f"  AI mode: {settings.AI_MODE}"
            + (" (transcripts and notes are simulated)" if settings.AI_MODE == "stub" else "")
        )

    def _user(self, email: str, full_name: str, *, staff: bool) -> User:
        user = User.objects.filter(email=email).first() or User(email=email)
        user.full_name = full_name
        user.is_staff = staff
        user.is_superuser = staff
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user
