"""A recording made in the browser, received part by part while it is being made.

The recording page uploads each few seconds of audio as soon as MediaRecorder hands them over, so a closed tab
or a dropped connection loses at most the part in flight. The parts are kept under the session's folder, one
``RecordingPart`` row each, until they are assembled into the session's recording:

- ``recording_part_store``: keeps part ``n``; the same bytes again are a no-op, other bytes for a stored ``n`` a
  conflict. Refused without the client's consent, once the recording is complete, and past the size limits.
- ``recording_parts_complete``: joins the parts in order, validates the audio by decoding it to its last
  decodable packet (``sessions.part_audio``) and makes it the session's recording, as an upload would; the parts
  go once that has committed. Any refusal leaves the parts and the previous recording as they were.
- ``recording_parts_discard``: drops the parts (and, after a completed recording, lets a new one start).
- ``recordings_complete_idle``: the dispatcher's pass over recordings that received no part for
  ``RECORDING_IDLE_MINUTES``; ``recording_parts_purge_abandoned``: the retention purge's, for parts that could
  never be assembled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import User
from config.metrics import UPLOAD_SECONDS, observed
from sessions.media import MediaRejected, probe
from sessions.models import (
    ClinicalSession,
    LiveRecording,
    Recording,
    RecordingPart,
    max_upload_bytes,
    session_storage_prefix,
)
from sessions.part_audio import rewrite_joined_parts
from sessions.services import _delete_stored_file_rollback_unsafe, recording_store

logger = logging.getLogger(__name__)

COPY_CHUNK = 1024 * 1024
# Part numbers beyond this are refused: four hours in one-second parts is 14,400.
MAX_PART_NUMBER = 99_999
# Recordings the dispatcher assembles in one pass; the next pass takes the rest.
IDLE_BATCH = 20


class PartsRefused(Exception):
    """The parts request cannot be done; ``reason`` is stable (for the API), ``message`` for the clinician."""

    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details or {}


def part_max_bytes() -> int:
    return int(settings.RECORDING_PART_MAX_MB) * 1024 * 1024


def part_storage_name(session: ClinicalSession, n: int) -> str:
    # A fresh name per attempt: the storage never overwrites, and a file left by a failed attempt is swept.
    return f"{session_storage_prefix(session)}recording-parts/{n:06d}-{uuid.uuid4().hex[:12]}.part"


def _consent_missing() -> PartsRefused:
    return PartsRefused(
        "consent_required",
        "The client's consent to recording is not recorded as given for this session: record it first.",
    )


def _completed() -> PartsRefused:
    return PartsRefused(
        "recording_completed",
        "This recording is already finished. Start a new recording to record again.",
    )


# --- Receiving parts ---------------------------------------------------------------------------


@observed(UPLOAD_SECONDS, operation="part")
def recording_part_store(
    *,
    session: ClinicalSession,
    n: int,
    content: Path,
    sha256: str,
    received_by: User | None,
    recorded_seconds: float | None = None,
) -> tuple[RecordingPart, bool]:
    """Keep ``content`` as part ``n``; returns the part and whether it is new (False: the same bytes again).

    Raises ``PartsRefused``: ``consent_required``, ``recording_completed``, ``part_differs`` (other bytes for
    this ``n``), ``recording_too_large``; ``ClinicalSession.DoesNotExist`` when the session was deleted meanwhile.
    """
    size = content.stat().st_size
    if not session.has_consent:
        raise _consent_missing()
    live = LiveRecording.objects.filter(session=session).first()
    if live is not None and live.completed_at is not None:
        raise _completed()
    existing = RecordingPart.objects.filter(session=session, n=n).first()
    if existing is not None:
        return _repeated(existing, sha256), False
    stored_total = RecordingPart.objects.filter(session=session).aggregate(total=Sum("bytes"))["total"] or 0
    if stored_total + size > max_upload_bytes():
        raise PartsRefused(
            "recording_too_large",
            f"The recording has reached the {settings.MAX_UPLOAD_MB} MB limit: stop it and start a new one.",
            {"max_bytes": max_upload_bytes()},
        )
    with content.open("rb") as handle:
        stored_name = default_storage.save(part_storage_name(session, n), File(handle))
    try:
        with transaction.atomic():
            locked = ClinicalSession.objects.select_for_update().get(pk=session.pk)
            if locked.consent_status != ClinicalSession.ConsentStatus.GIVEN:
                raise _consent_missing()
            now = timezone.now()
            live = LiveRecording.objects.filter(session=locked).first()
            if live is not None and live.completed_at is not None:
                raise _completed()
            existing = RecordingPart.objects.filter(session=locked, n=n).first()
            if existing is None:
                if live is None:
                    LiveRecording.objects.create(session=locked, started_by=received_by, last_part_at=now)
                else:
                    LiveRecording.objects.filter(pk=live.pk).update(last_part_at=now)
                part = RecordingPart.objects.create(
                    session=locked,
                    n=n,
                    bytes=size,
                    sha256=sha256,
                    storage_name=stored_name,
                    recorded_seconds=recorded_seconds,
                )
                return part, True
    except BaseException:
        _delete_stored_file_rollback_unsafe(stored_name)
        raise
    # The same part arrived twice at once and the other request stored it first.
    _delete_stored_file_rollback_unsafe(stored_name)
    return _repeated(existing, sha256), False


def _repeated(existing: RecordingPart, sha256: str) -> RecordingPart:
    if existing.sha256 != sha256:
        raise PartsRefused(
            "part_differs",
            f"Part {existing.n} is already stored with other bytes. Is the session being recorded in another window?",
            {"n": existing.n, "sha256": existing.sha256},
        )
    # A repeat says the recorder is still there (a paused page repeats its last part): not idle.
    LiveRecording.objects.filter(session_id=existing.session_id, completed_at__isnull=True).update(
        last_part_at=timezone.now()
    )
    return existing


# --- What is stored ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PartsState:
    parts: list[RecordingPart]
    completed: bool
    started_at: dt.datetime | None
    last_part_at: dt.datetime | None
    error: str

    @property
    def unfinished(self) -> bool:
        return bool(self.parts) and not self.completed

    @property
    def recorded_seconds(self) -> float | None:
        """How much the recorder had recorded by its last stored part, as it reported (None if it did not)."""
        seconds = [part.recorded_seconds for part in self.parts if part.recorded_seconds is not None]
        return max(seconds) if seconds else None

    @property
    def bytes(self) -> int:
        return sum(part.bytes for part in self.parts)


def recording_parts_state(session: ClinicalSession) -> PartsState:
    live = LiveRecording.objects.filter(session=session).first()
    parts = list(RecordingPart.objects.filter(session=session).order_by("n"))
    return PartsState(
        parts=parts,
        completed=live is not None and live.completed_at is not None,
        started_at=live.started_at if live else None,
        last_part_at=live.last_part_at if live else None,
        error=live.completion_error if live and live.completed_at is None else "",
    )


# --- Assembling ------------------------------------------------------------------------------


@observed(UPLOAD_SECONDS, operation="assemble")
def recording_parts_complete(*, session: ClinicalSession, completed_by: User | None) -> tuple[Recording, bool]:
    """Assemble the parts, in order, into the session's recording; returns it and whether it is new (False: the
    recording was already complete, and this is the recording it gave).

    Raises ``PartsRefused`` (``no_parts``, ``missing_parts``, ``parts_changed``, ``recording_completed``) or
    ``MediaRejected``; the parts and the session's previous recording then stay as they were.
    """
    live = LiveRecording.objects.filter(session=session).first()
    if live is not None and live.completed_at is not None:
        return _completed_recording(session), False
    parts = list(RecordingPart.objects.filter(session=session).order_by("n"))
    if live is None or not parts:
        raise PartsRefused("no_parts", "There is no recorded audio to finish: no part has been received.")
    missing = sorted(set(range(parts[-1].n + 1)) - {part.n for part in parts})
    if missing:
        error = PartsRefused(
            "missing_parts",
            f"{'Part' if len(missing) == 1 else 'Parts'} {_numbers(missing)} of the recording never arrived, so it "
            "cannot be assembled. If the "
            "recording page is still open on the device that recorded it, it sends them when it can.",
            {"missing": missing[:100]},
        )
        _record_failure(live, error.reason, error.message)
        raise error
    try:
        with tempfile.TemporaryDirectory(prefix="sessionscribe-parts-") as folder:
            joined, offsets = _join(parts, Path(folder))
            audio = rewrite_joined_parts(
                joined,
                part_offsets=offsets,
                out_dir=Path(folder),
                max_seconds=settings.MAX_RECORDING_MINUTES * 60,
            )
            info = probe(audio.path, max_seconds=settings.MAX_RECORDING_MINUTES * 60)
            if not audio.rewritten:
                info = dataclasses.replace(info, duration_seconds=audio.duration_seconds)
            started = timezone.localtime(live.started_at)
            recording = recording_store(
                session=session,
                path=audio.path,
                info=info,
                original_filename=f"recording-{started:%Y%m%d-%H%M}{audio.path.suffix}",
                uploaded_by=completed_by,
                during_swap=functools.partial(_finish_parts, expected=[(part.pk, part.sha256) for part in parts]),
            )
    except MediaRejected as rejected:
        _record_failure(live, rejected.code, rejected.message)
        raise
    except PartsRefused as refused:
        if refused.reason == "recording_completed":
            return _completed_recording(session), False
        raise
    return recording, True


def _completed_recording(session: ClinicalSession) -> Recording:
    recording = Recording.objects.filter(session=session).first()
    if recording is None:
        raise _completed()
    return recording


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return f"{shown} and {len(numbers) - 10} more" if len(numbers) > 10 else shown


def _join(parts: list[RecordingPart], folder: Path) -> tuple[Path, list[int]]:
    """The parts, in order, in one local file; returns it and where each part starts in it."""
    joined = folder / "joined.part"
    offsets: list[int] = []
    position = 0
    with joined.open("wb") as sink:
        for part in parts:
            offsets.append(position)
            digest = hashlib.sha256()
            try:
                with default_storage.open(part.storage_name, "rb") as source:
                    while chunk := source.read(COPY_CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
                        position += len(chunk)
            except FileNotFoundError:
                raise MediaRejected(
                    "corrupt", f"Part {part.n} of the recording is missing from storage; it cannot be assembled."
                ) from None
            if digest.hexdigest() != part.sha256:
                raise MediaRejected(
                    "corrupt", f"Part {part.n} of the recording changed in storage; it cannot be assembled."
                )
    return joined, offsets


def _finish_parts(locked: ClinicalSession, recording: Recording, *, expected: list[tuple[int, str]]) -> None:
    """In the transaction that makes the assembled audio the session's recording: the parts go and the
    recording is marked complete, provided no part arrived (or went) while they were being assembled."""
    live = LiveRecording.objects.filter(session=locked).first()
    if live is None:
        raise PartsRefused("no_parts", "The recording was discarded while it was being finished.")
    if live.completed_at is not None:
        raise _completed()
    current = list(RecordingPart.objects.filter(session=locked).order_by("n").values_list("pk", "sha256"))
    if current != expected:
        raise PartsRefused(
            "parts_changed", "A part arrived while the recording was being finished. Finish it again to include it."
        )
    names = list(RecordingPart.objects.filter(session=locked).values_list("storage_name", flat=True))
    RecordingPart.objects.filter(session=locked).delete()
    LiveRecording.objects.filter(pk=live.pk).update(
        completed_at=timezone.now(), completion_error_code="", completion_error="", completion_failed_at=None
    )
    transaction.on_commit(functools.partial(_delete_files_rollback_unsafe, names))


def _record_failure(live: LiveRecording, code: str, message: str) -> None:
    LiveRecording.objects.filter(pk=live.pk, completed_at__isnull=True).update(
        completion_error_code=code[:32], completion_error=message, completion_failed_at=timezone.now()
    )


def _delete_files_rollback_unsafe(names: list[str]) -> None:
    for name in names:
        _delete_stored_file_rollback_unsafe(name)


# --- Discarding, and the periodic passes --------------------------------------------------------


def recording_parts_discard(*, session: ClinicalSession) -> int:
    """Drop the recording in progress and its parts (a completed one's row too, so a new recording may start).
    The session's recording, if it has one, is untouched. Returns how many parts went."""
    with transaction.atomic():
        locked = ClinicalSession.objects.select_for_update().filter(pk=session.pk).first()
        if locked is None:
            return 0
        names = list(RecordingPart.objects.filter(session=locked).values_list("storage_name", flat=True))
        RecordingPart.objects.filter(session=locked).delete()
        LiveRecording.objects.filter(session=locked).delete()
        transaction.on_commit(functools.partial(_delete_files_rollback_unsafe, names))
    return len(names)


def recordings_complete_idle(*, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Assemble the recordings that received no part for ``RECORDING_IDLE_MINUTES`` (their page was closed or
    lost its connection for good). Returns the sessions that got a new recording, for their processing to start.

    A recording that cannot be assembled keeps its error (shown on the session page) and is tried again only
    after a new part arrives.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.RECORDING_IDLE_MINUTES)
    due = (
        LiveRecording.objects.filter(completed_at__isnull=True, last_part_at__lt=cutoff)
        .filter(Q(completion_failed_at__isnull=True) | Q(completion_failed_at__lt=F("last_part_at")))
        .select_related("session")
        .order_by("last_part_at")
    )
    completed: list[uuid.UUID] = []
    for live in list(due[:IDLE_BATCH]):
        try:
            _, created = recording_parts_complete(session=live.session, completed_by=None)
        except (PartsRefused, MediaRejected) as refused:
            logger.info("idle recording of session %s not assembled: %s", live.session_id, type(refused).__name__)
            continue
        except ClinicalSession.DoesNotExist:
            continue
        if created:
            completed.append(live.session_id)
    if completed:
        logger.info("assembled %d idle recordings", len(completed))
    return completed


def recording_parts_purge_abandoned(*, now: dt.datetime, older_than: dt.timedelta, dry_run: bool = False) -> int:
    """Delete the parts of recordings that were never completed and received nothing for ``older_than``.
    Returns how many parts went (or would go)."""
    stale = LiveRecording.objects.filter(completed_at__isnull=True, last_part_at__lt=now - older_than)
    parts = RecordingPart.objects.filter(session_id__in=stale.values("session_id"))
    if dry_run:
        return parts.count()
    deleted = 0
    for live in list(stale.select_related("session")[: IDLE_BATCH * 5]):
        deleted += recording_parts_discard(session=live.session)
    return deleted
