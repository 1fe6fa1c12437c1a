"""Writes with side effects for sessions and recordings."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import Practice, User
from config.metrics import UPLOAD_SECONDS, observed
from sessions.consent import apply_consent_method
from sessions.media import MediaInfo, probe
from sessions.models import ClinicalSession, Recording, session_storage_prefix

logger = logging.getLogger(__name__)

HASH_CHUNK = 1024 * 1024


def sanitise_filename(name: str) -> str:
    """A display name only: never used for a path. Keeps the base name, drops control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    cleaned = cleaned.strip().strip(".") or "recording"
    return cleaned[:200]


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _delete_stored_file_rollback_unsafe(name: str) -> None:
    """Delete a stored file. Only call it once the row pointing at it is gone for good."""
    try:
        default_storage.delete(name)
    except OSError:
        logger.warning("could not delete stored file %s; the orphan sweep will retry", name)


def session_create(
    *,
    practice: Practice,
    clinician: User,
    client_label: str,
    occurred_at: dt.datetime,
    note_type: str,
    consent_method: str = "",
    created_by: User,
) -> ClinicalSession:
    session = ClinicalSession(
        practice=practice,
        clinician=clinician,
        client_label=client_label.strip(),
        occurred_at=occurred_at,
        note_type=note_type,
    )
    apply_consent_method(session, consent_method, created_by)
    session.save()
    return session


def session_update(
    *,
    session: ClinicalSession,
    client_label: str,
    occurred_at: dt.datetime,
    note_type: str,
    changed_by: User,
    consent_method: str | None = None,
) -> ClinicalSession:
    """Change the session's details; ``consent_method`` (the API's shorthand, see ``apply_consent_method``)
    is applied only when given and different from the recorded one."""
    session.client_label = client_label.strip()
    session.occurred_at = occurred_at
    if note_type != session.note_type:
        # The state was that of the note in the former format; the notes app records the new one's when it opens.
        session.review_state = ""
    session.note_type = note_type
    if consent_method is not None and consent_method != session.consent_method:
        apply_consent_method(session, consent_method, changed_by)
    session.save()
    return session


def session_set_status(*, session_id: uuid.UUID, status: ClinicalSession.Status, at: dt.datetime | None = None) -> None:
    """Set the session's status, and nothing else of it: on its first recording, and as its latest job moves
    (``jobs.transitions`` calls this, inside the transaction that moves the job). A deleted session is skipped."""
    ClinicalSession.objects.filter(pk=session_id).update(status=status, updated_at=at or timezone.now())


def session_set_review_state(
    *, session_id: uuid.UUID, note_type: str, review_state: ClinicalSession.ReviewState
) -> None:
    """Record where the session's note of ``note_type`` stands (draft, needs review, signed, amended); the notes
    app calls this with every write of a note. A note of another format than the session's changes nothing."""
    ClinicalSession.objects.filter(pk=session_id, note_type=note_type).update(review_state=review_state)


def storage_delete_tree_rollback_unsafe(prefix: str) -> int:
    """Delete every stored file under ``prefix`` (a folder name ending in "/"); returns how many."""
    if not prefix.endswith("/"):
        raise ValueError("a storage prefix must end with /")
    deleted = 0
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return 0
    for folder in folders:
        deleted += storage_delete_tree_rollback_unsafe(f"{prefix}{folder}/")
    for name in files:
        _delete_stored_file_rollback_unsafe(f"{prefix}{name}")
        deleted += 1
    return deleted


def session_delete(*, session: ClinicalSession) -> None:
    """Delete the session with all its rows; every file stored under its folder (its audio, every artifact
    of its jobs) goes once the deletion has committed. A worker still running one of its jobs finds the job
    gone at its next check and stops."""
    prefix = session_storage_prefix(session)
    names = [name for name in Recording.objects.filter(session=session).values_list("file", flat=True) if name]
    with transaction.atomic():
        # Hold the session's jobs, then the session, before reading what belongs to them. A worker that writes
        # an artifact of a job, or the session's transcript or note, then waits for this deletion and finds its
        # job or session gone, instead of slipping a row in between the deletion's reads and its deletes (which
        # PostgreSQL refuses at commit, undoing the deletion). Jobs before the session: the order in which a
        # worker's transitions take them (the job's row, then the session's status), so neither waits on the other.
        list(session.jobs.select_for_update().values_list("pk", flat=True))
        list(ClinicalSession.objects.select_for_update().filter(pk=session.pk).values_list("pk", flat=True))
        session.delete()
        for name in names:
            transaction.on_commit(functools.partial(_delete_stored_file_rollback_unsafe, name))
        transaction.on_commit(functools.partial(storage_delete_tree_rollback_unsafe, prefix))


@observed(UPLOAD_SECONDS, operation="store")
def recording_replace(
    *,
    session: ClinicalSession,
    upload_path: Path,
    original_filename: str,
    uploaded_by: User | None,
    sha256: str = "",
) -> Recording:
    """Validate the uploaded file by decoding it, store it, and make it the session's recording.

    Raises ``sessions.media.MediaRejected`` for a file we cannot use; the session keeps what it had.
    The previous recording is replaced only after the new one is validated and stored. ``sha256`` is the file's
    digest when the caller has already computed it (the API does, for its idempotency fingerprint).
    """
    info: MediaInfo = probe(upload_path, max_seconds=settings.MAX_RECORDING_MINUTES * 60)
    return recording_store(
        session=session,
        path=upload_path,
        info=info,
        original_filename=original_filename,
        uploaded_by=uploaded_by,
        sha256=sha256,
    )


SwapHook = Callable[[ClinicalSession, Recording], None]


def recording_store(
    *,
    session: ClinicalSession,
    path: Path,
    info: MediaInfo,
    original_filename: str,
    uploaded_by: User | None,
    during_swap: SwapHook | None = None,
    sha256: str = "",
) -> Recording:
    """Store the validated file at ``path`` and make it the session's recording, replacing the previous one.

    ``during_swap`` runs inside the transaction that swaps the rows, with the session row locked; whatever it
    raises undoes the swap and deletes the new file, leaving the session as it was.
    """
    recording = Recording(
        id=uuid.uuid4(),
        session=session,
        original_filename=sanitise_filename(original_filename),
        content_type=info.content_type,
        bytes=path.stat().st_size,
        sha256=sha256 or file_sha256(path),
        duration_seconds=info.duration_seconds,
        codec=info.codec,
        container=info.container,
        sample_rate=info.sample_rate,
        channels=info.channels,
        has_video=info.has_video,
        peak_bytes_per_second=info.peak_bytes_per_second,
        uploaded_by=uploaded_by,
    )
    with path.open("rb") as handle:
        recording.file.save("upload", File(handle), save=False)
    stored_name = recording.file.name
    try:
        with transaction.atomic():
            locked = ClinicalSession.objects.select_for_update().get(pk=session.pk)
            if during_swap is not None:
                during_swap(locked, recording)
            previous = Recording.objects.filter(session=locked).first()
            old_name = previous.file.name if previous else None
            if previous is not None:
                previous.delete()
            recording.save(force_insert=True)
            if locked.status == ClinicalSession.Status.AWAITING_RECORDING:
                session_set_status(session_id=locked.pk, status=ClinicalSession.Status.RECORDED)
            if old_name:
                transaction.on_commit(lambda: _delete_stored_file_rollback_unsafe(old_name))
    except BaseException:
        _delete_stored_file_rollback_unsafe(stored_name)
        raise
    session.refresh_from_db()
    return recording
