"""Before a transcript is saved: segments a speech-to-text model likely invented over silence are dropped.

Whisper-like models fill quiet stretches with stock phrases ("Thank you for watching."). A segment goes only when
both hold (``notes.faithfulness.drop_hallucinated_segments``): its text is such a phrase, and its audio is
near-silent, as the provider's ``no_speech_prob`` says where the model reports one, or else as the chunking
found (a segment lying mostly within a chunk of digital silence). The count is recorded on the job.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.models import Artifact, Job, JobEvent
from jobs.providers.base import Segment
from notes.faithfulness import drop_hallucinated_segments
from notes.faithfulness.hallucination import DEFAULT_NO_SPEECH_THRESHOLD


def drop_invented_segments(job: Job, segments: Sequence[Segment]) -> list[Segment]:
    """The segments to keep; how many were dropped is recorded as an event of the job's transcribe stage."""
    quiet_spans = _silent_chunk_spans(job)
    silent = [_near_silent(segment, quiet_spans) for segment in segments]
    kept, dropped = drop_hallucinated_segments(list(segments), silent=silent)
    if dropped:
        noun = "segment" if dropped == 1 else "segments"
        what = "a likely speech-to-text invention" if dropped == 1 else "likely speech-to-text inventions"
        JobEvent.objects.create(
            job=job,
            kind=JobEvent.Kind.PROGRESS,
            stage=Job.Stage.TRANSCRIBE,
            message=f"{dropped} {noun} dropped as {what}",
        )
    return kept


def _silent_chunk_spans(job: Job) -> list[tuple[float, float]]:
    chunks = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO).values_list("meta", flat=True)
    return [(float(meta["start"]), float(meta["end"])) for meta in chunks if meta and meta.get("silent")]


def _near_silent(segment: Segment, quiet_spans: Sequence[tuple[float, float]]) -> bool:
    if segment.no_speech_prob is not None:
        return segment.no_speech_prob >= DEFAULT_NO_SPEECH_THRESHOLD
    length = max(segment.end - segment.start, 1e-6)
    quiet = sum(max(0.0, min(end, segment.end) - max(start, segment.start)) for start, end in quiet_spans)
    return quiet / length >= 0.5
