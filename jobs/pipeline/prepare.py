"""Stage 1: cut the recording into chunks the transcription provider accepts.

Chunks are cut by stream copy when the provider takes the codec and container as they are; otherwise
the recording is transcoded once to 16 kHz mono Ogg/Opus and that is cut. A chunk of digital silence
is recorded but never sent (Whisper invents text on silence).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from django.conf import settings

from jobs.artifacts import artifact_record_empty, artifact_store_file
from jobs.audio.plan import ProviderLimits, limits_for_model, plan_chunks, stream_copy_target
from jobs.audio.silence import is_digital_silence
from jobs.audio.split import AudioSplitError, audio_bytes_per_second, split_by_stream_copy, transcode_to_opus
from jobs.models import Artifact, Job, JobEvent
from jobs.pipeline.files import local_copy, scratch_dir
from jobs.providers.factory import get_transcriber
from jobs.runner import Lease, PermanentFailure
from sessions.models import Recording, Transcript
from sessions.transcripts import reusable_transcript, transcript_copy_from


def _limits(model: str) -> ProviderLimits:
    limits = limits_for_model(model)
    cap = settings.TRANSCRIPTION_MAX_CHUNK_SECONDS
    if cap and (limits.max_seconds is None or cap < limits.max_seconds):
        return dataclasses.replace(limits, max_seconds=float(cap), safety_margin=0.0)
    return limits


def stage_prepare(job: Job, lease: Lease) -> str | None:
    recording = Recording.objects.filter(session_id=job.session_id).first()
    if recording is None or recording.sha256 != job.media_sha256:
        raise PermanentFailure(
            "RECORDING_CHANGED",
            "The recording was replaced or removed after this job started. Process the session again.",
        )
    model = get_transcriber().model
    audio_gone = recording.purged_at is not None
    own = Transcript.objects.filter(session_id=job.session_id, media_sha256=job.media_sha256, model=model).first()
    if own is not None:
        return Job.Stage.DRAFT
    source = reusable_transcript(practice_id=job.session.practice_id, media_sha256=job.media_sha256, model=model)
    if source is None and audio_gone:
        raise PermanentFailure(
            "AUDIO_PURGED",
            "The recording's audio was removed under the practice's retention policy. Upload it again to process it.",
        )
    if source is not None:
        transcript_copy_from(source, session=job.session)
        lease.event(JobEvent.Kind.STAGE, stage=Job.Stage.PREPARE, message="identical audio already transcribed: reused")
        return Job.Stage.DRAFT
    _cut_chunks(job, lease, recording, model)
    return None


def _cut_chunks(job: Job, lease: Lease, recording: Recording, model: str) -> None:
    planned = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO)
    first = planned.first()
    if first is not None and planned.count() == first.meta_value("total"):
        return
    with local_copy(recording.file.name) as original, scratch_dir() as folder:
        try:
            # The upload was decode-probed when it was stored; the row holds what that found.
            source = original
            target = stream_copy_target(recording.container, recording.codec)
            if target is None:
                source = transcode_to_opus(original, folder / "normalised.ogg")
                target = stream_copy_target("ogg", "opus")
                assert target is not None
            chunks = plan_chunks(
                recording.duration_seconds,
                bytes_per_second=audio_bytes_per_second(source),
                limits=_limits(model),
                overlap_seconds=settings.CHUNK_OVERLAP_SECONDS,
            )
            paths = split_by_stream_copy(source, chunks, lambda chunk: folder / f"chunk-{chunk.index}{target.suffix}")
            silent = [is_digital_silence(path) for path in paths]
        except (AudioSplitError, ValueError):
            raise PermanentFailure("AUDIO_UNREADABLE", "The recording's audio could not be cut.") from None
        total = len(chunks)
        for chunk, path, is_silent in zip(chunks, paths, silent, strict=True):
            lease.load()  # stops here if the job was canceled or its session deleted
            meta = {"start": chunk.start, "end": chunk.end, "total": total, "silent": is_silent}
            if meta["silent"]:
                artifact_record_empty(job=job, kind=Artifact.Kind.CHUNK_AUDIO, key=str(chunk.index), meta=meta)
            else:
                artifact_store_file(
                    job=job,
                    kind=Artifact.Kind.CHUNK_AUDIO,
                    key=str(chunk.index),
                    path=Path(path),
                    meta=meta,
                    suffix=target.suffix,
                )
    lease.progress(0, total)
