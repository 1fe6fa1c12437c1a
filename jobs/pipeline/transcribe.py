"""Stage 2: cut the recording into chunks and send them to the transcription provider, concurrently; stitch.

The chunks are cut on a thread beside this one (jobs.pipeline.chunks) and each is sent as soon as its file is
complete, so that the provider hears the first one while the rest of the file is still being read. Each chunk is
committed as an artifact before it is sent, and each chunk's transcript as soon as it comes back, so a retry sends
only the chunks without one. Cancellation is checked between chunks: the cutter stops, chunks not yet sent are
dropped.
"""

from __future__ import annotations

import json
import queue
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from jobs.artifacts import (
    artifact_delete_files_rollback_unsafe,
    artifact_read_bytes,
    artifact_record_empty,
    artifact_store_bytes,
    artifact_store_file,
)
from jobs.audio.container import AudioError
from jobs.audio.plan import ChunkPlan, ProviderLimits, limits_for_model
from jobs.audio.stitch import ChunkTranscript, filter_segments, stitch_chunks
from jobs.metering import TRANSCRIBED_BY
from jobs.models import Artifact, Job
from jobs.pipeline.chunks import ChunkCutter, Cut, Failed, Finished, Planned, Sizing, Source
from jobs.pipeline.files import local_copy, scratch_dir
from jobs.pipeline.inventions import drop_invented_segments
from jobs.pipeline.prepare import recording_to_cut
from jobs.pipeline.transcripts import (
    result_from_json,
    result_to_json,
    segment_dicts,
    transcript_to_srt,
    transcript_to_txt,
)
from jobs.providers.base import ProviderError, Transcriber, TranscriptionResult
from jobs.providers.factory import get_transcriber
from jobs.runner import Lease, PermanentFailure
from sessions.models import Recording
from sessions.transcripts import transcript_save


def _chunks(job: Job) -> list[Artifact]:
    chunks = list(Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO))
    return sorted(chunks, key=lambda artifact: int(artifact.key))


def _plan(chunk: Artifact) -> ChunkPlan:
    return ChunkPlan(index=int(chunk.key), start=float(chunk.meta["start"]), end=float(chunk.meta["end"]))


def sizing(model: str) -> Sizing:
    """How this deployment sizes chunks for ``model``: its limits (or the tighter TRANSCRIPTION_MAX_CHUNK_SECONDS),
    TRANSCRIPTION_CONCURRENCY requests at once, none shorter than TRANSCRIPTION_MIN_CHUNK_SECONDS."""
    limits = limits_for_model(model)
    cap = settings.TRANSCRIPTION_MAX_CHUNK_SECONDS
    if cap and (limits.max_seconds is None or cap < limits.max_seconds):
        limits = ProviderLimits(max_bytes=limits.max_bytes, max_seconds=float(cap), safety_margin=0.0)
    return Sizing(
        limits=limits,
        overlap_seconds=settings.CHUNK_OVERLAP_SECONDS,
        concurrency=settings.TRANSCRIPTION_CONCURRENCY,
        min_chunk_seconds=float(settings.TRANSCRIPTION_MIN_CHUNK_SECONDS),
    )


def stage_transcribe(job: Job, lease: Lease) -> str | None:
    transcriber = get_transcriber()
    stored = _chunks(job)
    with scratch_dir() as folder, _Transcription(job, lease, transcriber, folder) as run:
        if stored and len(stored) == stored[0].meta_value("total"):
            run.send_stored(stored)
        else:
            run.cut_and_send(recording_to_cut(job), sizing(transcriber.model))
    audible = [chunk for chunk in _chunks(job) if not chunk.meta.get("silent")]
    if not audible:
        raise PermanentFailure("SILENT_RECORDING", "The recording is silent: there is no speech to transcribe.")
    done = _transcripts(job)
    results = [(_plan(chunk), result_from_json(artifact_read_bytes(done[chunk.key]))) for chunk in audible]
    _commit_transcript(job, results)
    return None


def _transcripts(job: Job) -> dict[str, Artifact]:
    return {
        artifact.key: artifact for artifact in Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT)
    }


class _Transcription:
    """One run of the stage: chunks come in (cut now, or stored by an earlier attempt), at most
    TRANSCRIPTION_CONCURRENCY requests are in flight, and every answer is committed as it arrives.

    Everything the cutter and the requests report comes through one queue, read on the stage's own thread, which
    alone writes to the database.
    """

    def __init__(self, job: Job, lease: Lease, transcriber: Transcriber, folder: Path) -> None:
        self.job = job
        self.lease = lease
        self.transcriber = transcriber
        self.folder = folder
        self.concurrency = settings.TRANSCRIPTION_CONCURRENCY
        self.reports: queue.Queue[object] = queue.Queue()
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="transcribe")
        self.stored = {chunk.key: chunk for chunk in _chunks(job)}
        self.transcribed = _transcripts(job)
        self.waiting: deque[tuple[Artifact, Path | None]] = deque()
        self.in_flight: dict[Future[TranscriptionResult], Artifact] = {}
        self.failure: ProviderError | None = None
        self.cutter: ChunkCutter | None = None
        # Chunks planned; of them, those with sound (to send) and those sent and answered.
        self.planned = 0
        self.total = 0
        self.finished = 0

    def __enter__(self) -> _Transcription:
        return self

    def __exit__(self, *exc: object) -> None:
        # Stopped whatever happened: a cancel, a lost lease or a failure leaves nothing running behind it.
        if self.cutter is not None:
            self.cutter.stop()
            self.cutter.join()
        self.pool.shutdown(wait=True, cancel_futures=True)

    # Where the chunks come from

    def send_stored(self, chunks: list[Artifact]) -> None:
        """Every chunk was cut by an earlier attempt: send those without a transcript."""
        audible = [chunk for chunk in chunks if not chunk.meta.get("silent")]
        self.total = len(audible)
        for chunk in audible:
            if self._has_transcript(chunk):
                self.finished += 1
            else:
                self.waiting.append((chunk, None))
        self.lease.progress(self.finished, self.total)
        self._fill()
        self._run(cutting=False)

    def cut_and_send(self, recording: Recording, sizing: Sizing) -> None:
        with local_copy(recording.file.name) as original:
            source = Source(
                path=original,
                container=recording.container,
                codec=recording.codec,
                duration_seconds=recording.duration_seconds,
                peak_bytes_per_second=recording.peak_bytes_per_second,
            )
            self.cutter = ChunkCutter(source, sizing, self.folder, self.reports).start()
            self._run(cutting=True)
            if self.cutter is not None:
                self.cutter.join()

    # The loop

    def _run(self, *, cutting: bool) -> None:
        while cutting or self.in_flight:
            report = self.reports.get()
            if isinstance(report, Future):
                self._answered(report)
            elif isinstance(report, Cut):
                self._cut(report)
            elif isinstance(report, Planned):
                self._planned(report)
            elif isinstance(report, Finished):
                cutting = False
                self.lease.record_timing("cut", round(report.seconds, 3))
            elif isinstance(report, Failed):
                cutting = False
                if isinstance(report.error, (AudioError, ValueError)):
                    raise PermanentFailure("AUDIO_UNREADABLE", "The recording's audio could not be cut.") from None
                raise report.error
        if self.failure is not None:
            raise self.failure

    def _planned(self, planned: Planned) -> None:
        self.planned = self.total = len(planned.chunks)
        if planned.measured_bytes_per_second is not None:
            # Measured for a recording stored before uploads recorded it: kept for the next run.
            Recording.objects.filter(session_id=self.job.session_id, sha256=self.job.media_sha256).update(
                peak_bytes_per_second=planned.measured_bytes_per_second
            )
        # Chunks of an earlier plan beyond this one's (the settings changed since) are not this run's.
        self._discard(
            *(chunk for key, chunk in self.stored.items() if int(key) >= self.planned),
            *(transcript for key, transcript in self.transcribed.items() if int(key) >= self.planned),
        )
        self.lease.progress(self.finished, self.total)

    def _cut(self, cut: Cut) -> None:
        self.lease.load()  # stops here if the job was canceled or its session deleted
        if cut.chunk.index == 0:
            self.lease.record_timing("first_cut", round(cut.seconds, 3))
        key = str(cut.chunk.index)
        meta = {"start": cut.chunk.start, "end": cut.chunk.end, "total": self.planned, "silent": cut.silent}
        artifact = self.stored.get(key)
        if artifact is not None and artifact.meta != meta:
            # An earlier attempt cut this chunk elsewhere (the settings changed since): its audio and transcript go.
            self._discard(artifact, *([self.transcribed[key]] if key in self.transcribed else []))
            artifact = None
        if artifact is None:
            artifact = self._store(key, cut, meta)
        if cut.silent:
            self.total -= 1
        elif self._has_transcript(artifact):
            self.finished += 1
        else:
            self.waiting.append((artifact, cut.path))
            self._fill()
        self.lease.progress(self.finished, self.total)

    def _store(self, key: str, cut: Cut, meta: dict[str, Any]) -> Artifact:
        if cut.silent:
            # Digital silence is recorded but never sent (Whisper invents text on silence).
            return artifact_record_empty(job=self.job, kind=Artifact.Kind.CHUNK_AUDIO, key=key, meta=meta)
        return artifact_store_file(
            job=self.job, kind=Artifact.Kind.CHUNK_AUDIO, key=key, path=cut.path, meta=meta, suffix=cut.path.suffix
        )

    def _has_transcript(self, chunk: Artifact) -> bool:
        """True when the chunk's transcript is there and was made of the chunk as it is now cut; one made of other
        bounds is discarded. Transcripts stored before they recorded their bounds are taken as they are."""
        transcript = self.transcribed.get(chunk.key)
        if transcript is None:
            return False
        bounds = {name: transcript.meta[name] for name in ("start", "end") if name in transcript.meta}
        if all(chunk.meta.get(name) == value for name, value in bounds.items()):
            return True
        self._discard(transcript)
        return False

    def _discard(self, *artifacts: Artifact) -> None:
        if not artifacts:
            return
        with transaction.atomic():
            Artifact.objects.filter(pk__in=[artifact.pk for artifact in artifacts]).delete()
            names = [artifact.storage_name for artifact in artifacts]
            transaction.on_commit(lambda: artifact_delete_files_rollback_unsafe(names))
        for artifact in artifacts:
            if self.stored.get(artifact.key) is artifact:
                del self.stored[artifact.key]
            if self.transcribed.get(artifact.key) is artifact:
                del self.transcribed[artifact.key]

    # The requests

    def _fill(self) -> None:
        """Keep at most ``concurrency`` requests in flight, so a cancel or a failure stops the rest unsent."""
        while self.failure is None and self.waiting and len(self.in_flight) < self.concurrency:
            chunk, path = self.waiting.popleft()
            if path is None:
                path = self._local(chunk)
            duration = float(chunk.meta["end"]) - float(chunk.meta["start"])
            future = self.pool.submit(self.transcriber.transcribe, path, duration=duration)
            self.in_flight[future] = chunk
            future.add_done_callback(self.reports.put)

    def _local(self, chunk: Artifact) -> Path:
        path = self.folder / f"stored-{chunk.key}{Path(chunk.storage_name).suffix}"
        with default_storage.open(chunk.storage_name, "rb") as source, path.open("wb") as sink:
            shutil.copyfileobj(source, sink, length=1024 * 1024)
        return path

    def _answered(self, future: Future[TranscriptionResult]) -> None:
        chunk = self.in_flight.pop(future)
        try:
            result = future.result()
        except ProviderError as error:
            self.failure = self.failure or error
            if self.cutter is not None:
                self.cutter.stop()
            return
        self.transcribed[chunk.key] = artifact_store_bytes(
            job=self.job,
            kind=Artifact.Kind.CHUNK_TRANSCRIPT,
            key=chunk.key,
            content=result_to_json(result),
            meta={"start": chunk.meta["start"], "end": chunk.meta["end"]},
        )
        self.finished += 1
        self.lease.progress(self.finished, self.total)  # raises if canceled or the lease is gone
        self._fill()


def _commit_transcript(job: Job, results: list[tuple[ChunkPlan, TranscriptionResult]]) -> None:
    stitched = stitch_chunks(ChunkTranscript(chunk=plan, segments=result.segments) for plan, result in results)
    kept = drop_invented_segments(job, filter_segments(stitched))
    # Ids are renumbered after filtering so that the drafting model sees 0..n-1 without gaps.
    segments = [{**segment, "id": number} for number, segment in enumerate(segment_dicts(kept))]
    first = results[0][1]
    transcript_save(
        session=job.session,
        media_sha256=job.media_sha256,
        model=first.model,
        language=first.language or "",
        segments=segments,
        provider_metadata={
            "chunks": len(results),
            "dropped_segments": len(stitched) - len(kept),
            # Which run had the provider hear this audio: its minutes are billed once (jobs.metering).
            TRANSCRIBED_BY: str(job.pk),
        },
    )
    as_json = json.dumps(segments, ensure_ascii=False).encode()
    artifact_store_bytes(job=job, kind=Artifact.Kind.TRANSCRIPT_JSON, content=as_json)
    artifact_store_bytes(job=job, kind=Artifact.Kind.TRANSCRIPT_TXT, content=transcript_to_txt(segments))
    artifact_store_bytes(job=job, kind=Artifact.Kind.TRANSCRIPT_SRT, content=transcript_to_srt(segments))
