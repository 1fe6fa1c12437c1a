"""Storing a stage's outputs. The Artifact row is the commit point: the file is written first, then the
row; a file without a row is an orphan for the sweep, a row always has its file."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.storage import is_temp_name
from jobs.models import Artifact, Job
from sessions.models import session_storage_prefix

_EXTENSIONS = {
    Artifact.Kind.CHUNK_TRANSCRIPT: ".json",
    Artifact.Kind.TRANSCRIPT_JSON: ".json",
    Artifact.Kind.TRANSCRIPT_TXT: ".txt",
    Artifact.Kind.TRANSCRIPT_SRT: ".srt",
    Artifact.Kind.DRAFT_JSON: ".json",
    Artifact.Kind.NOTE_DOCX: ".docx",
    Artifact.Kind.NOTE_TXT: ".txt",
}


def artifact_storage_name(job: Job, kind: str, key: str, suffix: str = "") -> str:
    extension = suffix or _EXTENSIONS.get(Artifact.Kind(kind), ".bin")
    name = f"{kind}-{key}" if key else kind
    return f"{job_storage_prefix(job)}{name}{extension}"


def job_storage_prefix(job: Job) -> str:
    return f"{session_storage_prefix(job.session)}jobs/{job.id}/"


def artifact_expiry(job: Job) -> dt.datetime:
    """When an artifact made now expires: after its practice's choice, or ``ARTIFACT_TTL_DAYS``."""
    return timezone.now() + job.session.practice.artifact_ttl


def artifact_find(job: Job, kind: str, key: str = "") -> Artifact | None:
    return Artifact.objects.filter(job=job, kind=kind, key=key).first()


def artifact_store_bytes(
    *, job: Job, kind: str, content: bytes, key: str = "", meta: dict[str, Any] | None = None, suffix: str = ""
) -> Artifact:
    return _store(job=job, kind=kind, key=key, meta=meta, suffix=suffix, content=ContentFile(content))


def artifact_store_file(
    *, job: Job, kind: str, path: Path, key: str = "", meta: dict[str, Any] | None = None, suffix: str = ""
) -> Artifact:
    with path.open("rb") as handle:
        return _store(job=job, kind=kind, key=key, meta=meta, suffix=suffix, content=File(handle))


def artifact_record_empty(*, job: Job, kind: str, key: str = "", meta: dict[str, Any] | None = None) -> Artifact:
    """An artifact with no file, e.g. a chunk that is digital silence and is never sent."""
    try:
        with transaction.atomic():
            return Artifact.objects.create(
                job=job, kind=kind, key=key, meta=meta or {}, expires_at=artifact_expiry(job)
            )
    except IntegrityError:
        return Artifact.objects.get(job=job, kind=kind, key=key)


def _store(*, job: Job, kind: str, key: str, meta: dict[str, Any] | None, suffix: str, content: File[Any]) -> Artifact:
    existing = artifact_find(job, kind, key)
    if existing is not None:
        return existing
    name = artifact_storage_name(job, kind, key, suffix)
    digest = hashlib.sha256()
    size = 0
    for chunk in content.chunks():
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    # A file left by an attempt that died before its row was written is overwritten, not renamed.
    if default_storage.exists(name):
        default_storage.delete(name)
    stored = default_storage.save(name, content)
    try:
        with transaction.atomic():
            return Artifact.objects.create(
                job=job,
                kind=kind,
                key=key,
                storage_name=stored,
                sha256=digest.hexdigest(),
                bytes=size,
                meta=meta or {},
                expires_at=artifact_expiry(job),
            )
    except IntegrityError:
        existing = artifact_find(job, kind, key)
        if existing is None:
            # The job is gone (its session was deleted while we wrote): our file must not outlive it.
            default_storage.delete(stored)
            raise
        # Another attempt committed the same artifact first; ours is a duplicate file.
        if existing.storage_name != stored:
            default_storage.delete(stored)
        return existing
    except BaseException:
        default_storage.delete(stored)
        raise


def artifact_read_bytes(artifact: Artifact) -> bytes:
    with default_storage.open(artifact.storage_name, "rb") as handle:
        data = handle.read()
    return bytes(data)


def artifact_delete_files_rollback_unsafe(names: list[str]) -> None:
    """Delete stored files once the rows that referenced them are gone for good."""
    for name in names:
        if name:
            default_storage.delete(name)


def artifact_sweep_temporaries(prefix: str) -> int:
    """Delete the temporary files under a job's folder, left by a worker killed while writing one.

    Called by the worker that has just claimed the job: any earlier worker of this job has lost its lease, so a
    temporary file there is either abandoned or about to fail to publish (and that worker stops at its next
    write anyway). Returns how many were deleted.
    """
    deleted = 0
    pending = [prefix.rstrip("/")]
    while pending:
        folder = pending.pop()
        try:
            folders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError):
            continue
        pending.extend(f"{folder}/{name}" for name in folders)
        for name in files:
            if is_temp_name(name):
                default_storage.delete(f"{folder}/{name}")
                deleted += 1
    return deleted
