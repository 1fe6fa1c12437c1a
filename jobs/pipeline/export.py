"""Stage 4: export the drafted note as .docx and paste-safe .txt, as artifacts of the run.

The clinician's own later edits are exported on demand from the note page; these files record what
the run produced.
"""

from __future__ import annotations

from django.utils import timezone

from jobs.artifacts import artifact_store_bytes
from jobs.models import Artifact, Job
from jobs.runner import Lease, PermanentFailure
from notes.exports import note_to_docx, note_to_txt
from notes.models import Note


def stage_export(job: Job, lease: Lease) -> str | None:
    session = job.session
    note = Note.objects.select_related("signed_by").filter(session=session, note_type=session.note_type).first()
    if note is None:
        raise PermanentFailure("NO_NOTE", "The drafted note is missing. Process the session again.")
    session_date = timezone.localtime(session.occurred_at).date()
    clinician = session.clinician.display_name
    signed_by = note.signed_by.display_name if note.signed_by else ""
    docx_bytes = note_to_docx(
        note,
        session_date=session_date,
        clinician_name=clinician,
        practice_name=session.practice.name,
        signed_by_name=signed_by,
    )
    txt_bytes = note_to_txt(
        note,
        session_date=session_date,
        clinician_name=clinician,
        practice_name=session.practice.name,
        signed_by_name=signed_by,
    )
    artifact_store_bytes(job=job, kind=Artifact.Kind.NOTE_DOCX, content=docx_bytes)
    artifact_store_bytes(job=job, kind=Artifact.Kind.NOTE_TXT, content=txt_bytes)
    return None
