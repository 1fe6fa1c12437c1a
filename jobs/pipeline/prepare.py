"""Stage 1: decide what the recording needs before it is transcribed.

A transcript this job already has, or one of the same audio in the practice made by the same model, is used as it
is: nothing is cut or sent. Otherwise the recording must still be there, unchanged; the transcription stage cuts it
into chunks while it sends them (jobs.pipeline.chunks), so that the first chunk is on its way to the provider
while the rest of the file is still being read.
"""

from __future__ import annotations

from jobs.models import Job, JobEvent
from jobs.providers.factory import get_transcriber
from jobs.runner import Lease, PermanentFailure
from sessions.models import Recording, Transcript
from sessions.transcripts import reusable_transcript, transcript_copy_from


def recording_to_cut(job: Job) -> Recording:
    """The job's recording, as long as it is the audio the job was started for and its file is still kept."""
    recording = _recording(job)
    if recording.purged_at is not None:
        raise _audio_purged()
    return recording


def stage_prepare(job: Job, lease: Lease) -> str | None:
    recording = _recording(job)
    model = get_transcriber().model
    own = Transcript.objects.filter(session_id=job.session_id, media_sha256=job.media_sha256, model=model).first()
    if own is not None:
        return Job.Stage.DRAFT
    source = reusable_transcript(practice_id=job.session.practice_id, media_sha256=job.media_sha256, model=model)
    if source is not None:
        transcript_copy_from(source, session=job.session)
        lease.event(JobEvent.Kind.STAGE, stage=Job.Stage.PREPARE, message="identical audio already transcribed: reused")
        return Job.Stage.DRAFT
    if recording.purged_at is not None:
        raise _audio_purged()
    return None


def _recording(job: Job) -> Recording:
    recording = Recording.objects.filter(session_id=job.session_id).first()
    if recording is None or recording.sha256 != job.media_sha256:
        raise PermanentFailure(
            "RECORDING_CHANGED",
            "The recording was replaced or removed after this job started. Process the session again.",
        )
    return recording


def _audio_purged() -> PermanentFailure:
    return PermanentFailure(
        "AUDIO_PURGED",
        "The recording's audio was removed under the practice's retention policy. Upload it again to process it.",
    )
