"""A session processed by the (stub) pipeline, with distinctive PHI, for the audit trail's tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Max

from accounts.models import ApiKey, AuditEvent, Practice, User
from jobs.api import DOWNLOAD_SALT
from jobs.models import Artifact, Job
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession, Recording, Transcript
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

# Strings that must never reach the audit trail: the client's label, the recording's file name, words of the
# transcript, of the note and of an addendum.
CLIENT_LABEL = "Zebulon Quagmire-7731"
FILE_NAME = "zebulon-quagmire-intake.flac"
TRANSCRIPT_WORDS = "marmalade lighthouse anxiety"
NOTE_WORDS = "Reports persimmon-shaped headaches"
ADDENDUM_WORDS = "Called back about the quokka dream"
PHI_STRINGS = (CLIENT_LABEL, FILE_NAME, TRANSCRIPT_WORDS, NOTE_WORDS, ADDENDUM_WORDS, "zebulon", "persimmon")


@dataclass
class Processed:
    session: ClinicalSession
    recording: Recording
    job: Job
    note: Note

    def note_artifact(self) -> Artifact:
        return Artifact.objects.get(job=self.job, kind=Artifact.Kind.NOTE_TXT)


def processed_session(*, practice: Practice, clinician: User) -> Processed:
    """A session of ``clinician`` whose recording went through the stub pipeline: transcript, note, exports. The
    transcript and the note are then given distinctive words."""
    session = ClinicalSessionFactory(practice=practice, clinician=clinician, client_label=CLIENT_LABEL)
    recording_replace(
        session=session, upload_path=AUDIO / "jfk.flac", original_filename=FILE_NAME, uploaded_by=clinician
    )
    job = job_start(session=session, requested_by=clinician)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    transcript = Transcript.objects.get(session=session)
    segments = [{**segment, "text": f"{segment['text']} {TRANSCRIPT_WORDS}"} for segment in transcript.segments]
    Transcript.objects.filter(pk=transcript.pk).update(segments=segments, text=f"{transcript.text} {TRANSCRIPT_WORDS}")
    note = Note.objects.get(session=session)
    sections = [{**section, "text": f"{NOTE_WORDS}. {section.get('text', '')}"} for section in note.sections]
    Note.objects.filter(pk=note.pk).update(sections=sections)
    note.refresh_from_db()
    return Processed(session=session, recording=Recording.objects.get(session=session), job=job, note=note)


def download_token(artifact: Artifact, *, by: ApiKey | User) -> str:
    caller = f"key:{by.pk}" if isinstance(by, ApiKey) else f"user:{by.pk}"
    return signing.dumps({"artifact": str(artifact.pk), "by": caller}, salt=DOWNLOAD_SALT, compress=False)


def last_event_id() -> int:
    return int(AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0)


def events_since(event_id: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=event_id).order_by("id"))


def phi_found_in_trail() -> list[tuple[int, str, Any]]:
    """Every (event id, column, value) of the whole trail that holds one of the distinctive PHI strings."""
    found: list[tuple[int, str, Any]] = []
    for row in AuditEvent.objects.values():
        for column, value in row.items():
            text = str(value).lower()
            found.extend((row["id"], column, value) for phi in PHI_STRINGS if phi.lower() in text)
    return found
