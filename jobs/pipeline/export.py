"""Stage 4: export the drafted note as .docx and paste-safe .txt, as artifacts of the run.

The clinician's own later edits are exported on demand from the note page; these files record what
the run produced.
"""

from __future__ import annotations

from jobs.artifacts import artifact_store_bytes
from jobs.models import Artifact, Job
from jobs.runner import Lease, PermanentFailure
from notes.exports import note_export
from notes.models import Note


def stage_export(job: Job, lease: Lease) -> str | None:
    session = job.session
    note = Note.objects.select_related("signed_by").filter(session=session, note_type=session.note_type).first()
    if note is None:
        raise PermanentFailure("NO_NOTE", "The drafted note is missing. Process the session again.")
    for export_format, kind in (("docx", Artifact.Kind.NOTE_DOCX), ("txt", Artifact.Kind.NOTE_TXT)):
        artifact_store_bytes(job=job, kind=kind, content=note_export(note, export_format).content)
    return None
