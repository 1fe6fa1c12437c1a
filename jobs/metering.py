"""Audio minutes for billing: recorded once when a run that had its audio transcribed succeeds, and estimated
before a run starts so that billing can refuse one that would go past the plan.

What is billed is a session's audio heard by the transcription provider, once, at the success of the first run
that ends with a note for it: the run that transcribed it, or a later run of the same session and audio that
used that transcript (a manual retry, a new run after a failure or a cancel). The transcript itself says which
run produced it (``TRANSCRIBED_BY`` in its provider metadata, written in the same commit as the transcript), so
a worker killed between its stage's commits changes nothing. A transcript reused from identical audio of
another session (``jobs.pipeline.prepare``) names a run of that other session: nothing was sent to the provider
and nothing is billed. ``billing.services.usage_record`` keeps one record per job, and a session's audio that
was billed once is not billed again, so a retry, a re-run of a stage or a reclaimed worker never records twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import FloatField, Max, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from billing.models import UsageRecord
from billing.services import usage_record
from jobs.models import Artifact, Job
from jobs.providers.factory import transcription_model
from jobs.transitions import Transition
from sessions.models import Recording, Transcript
from sessions.transcripts import reusable_transcript

TRANSCRIBED_BY = "transcribed_by_job"


def _runs_of(session_id: uuid.UUID, media_sha256: str) -> QuerySet[Job, Any]:
    return Job.objects.filter(session_id=session_id, media_sha256=media_sha256).values("pk")


def _transcribed(session_id: uuid.UUID, media_sha256: str) -> bool:
    """The session's transcript of this audio was made by the provider for one of the session's runs (not
    copied from another session's)."""
    metadata = (
        Transcript.objects.filter(session_id=session_id, media_sha256=media_sha256)
        .values_list("provider_metadata", flat=True)
        .first()
    )
    run = metadata.get(TRANSCRIBED_BY) if isinstance(metadata, dict) else None
    try:
        run_id = uuid.UUID(str(run))
    except ValueError:
        return False
    return _runs_of(session_id, media_sha256).filter(pk=run_id).exists()


def _billed(session_id: uuid.UUID, media_sha256: str) -> bool:
    return UsageRecord.objects.filter(job_id__in=_runs_of(session_id, media_sha256)).exists()


def audio_seconds(session_id: uuid.UUID, media_sha256: str) -> float:
    """The decoded duration of that audio: the recording's, or (replaced since) the end of its last chunk."""
    duration = (
        Recording.objects.filter(session_id=session_id, sha256=media_sha256)
        .values_list("duration_seconds", flat=True)
        .first()
    )
    if duration is not None:
        return float(duration)
    chunks = Artifact.objects.filter(job__in=_runs_of(session_id, media_sha256), kind=Artifact.Kind.CHUNK_AUDIO)
    end = chunks.aggregate(end=Max(Cast(KT("meta__end"), FloatField())))["end"]
    return float(end or 0.0)


def billable_seconds(session_id: uuid.UUID, media_sha256: str) -> float:
    """What a run ending now with a note for this audio bills."""
    if not _transcribed(session_id, media_sha256) or _billed(session_id, media_sha256):
        return 0.0
    return audio_seconds(session_id, media_sha256)


def expected_seconds(*, session_id: uuid.UUID, practice_id: uuid.UUID, media_sha256: str) -> float:
    """What a run of this audio will bill if it succeeds: nothing when it is paid for or its transcript will be
    reused, its duration otherwise."""
    if _billed(session_id, media_sha256):
        return 0.0
    if _transcribed(session_id, media_sha256):
        return audio_seconds(session_id, media_sha256)
    if reusable_transcript(practice_id=practice_id, media_sha256=media_sha256, model=transcription_model()):
        return 0.0
    return audio_seconds(session_id, media_sha256)


def in_flight_seconds(practice_id: uuid.UUID, *, excluding: uuid.UUID | None = None) -> float:
    """What the practice's runs under way will bill if they succeed."""
    runs = Job.objects.active().filter(session__practice_id=practice_id)
    if excluding is not None:
        runs = runs.exclude(pk=excluding)
    return sum(
        expected_seconds(session_id=session_id, practice_id=practice_id, media_sha256=media_sha256)
        for session_id, media_sha256 in runs.values_list("session_id", "media_sha256").distinct()
    )


def usage_on_success(transition: Transition) -> None:
    """The transition hook (``jobs.apps``): record the audio minutes of a run that ended with a note, inside the
    transaction that marks it succeeded."""
    if transition.to_status != Job.Status.SUCCEEDED:
        return
    media_sha256 = Job.objects.filter(pk=transition.job_id).values_list("media_sha256", flat=True).first()
    if media_sha256 is None:
        return
    seconds = billable_seconds(transition.session_id, media_sha256)
    if seconds > 0:
        usage_record(practice_id=transition.practice_id, job_id=transition.job_id, seconds=seconds)
