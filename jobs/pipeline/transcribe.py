"""Stage 2: send the chunks to the transcription provider, concurrently, and stitch the results.

Every finished chunk is committed as an artifact at once, so a retry sends only the chunks that are
missing. Cancellation is checked between chunks; chunks not yet started are dropped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from jobs.artifacts import artifact_read_bytes, artifact_store_bytes
from jobs.audio.plan import ChunkPlan
from jobs.audio.stitch import ChunkTranscript, filter_segments, stitch_chunks
from jobs.metering import TRANSCRIBED_BY
from jobs.models import Artifact, Job
from jobs.pipeline.files import scratch_dir
from jobs.pipeline.inventions import drop_invented_segments
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
from sessions.transcripts import transcript_save


def _chunks(job: Job) -> list[Artifact]:
    chunks = list(Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO))
    return sorted(chunks, key=lambda artifact: int(artifact.key))


def _plan(chunk: Artifact) -> ChunkPlan:
    return ChunkPlan(index=int(chunk.key), start=float(chunk.meta["start"]), end=float(chunk.meta["end"]))


def stage_transcribe(job: Job, lease: Lease) -> str | None:
    chunks = _chunks(job)
    if not chunks:
        # The chunks were removed (the job was canceled, or they outlived their retention): cut them again.
        return Job.Stage.PREPARE
    audible = [chunk for chunk in chunks if not chunk.meta.get("silent")]
    if not audible:
        raise PermanentFailure("SILENT_RECORDING", "The recording is silent: there is no speech to transcribe.")
    done = {
        artifact.key: artifact for artifact in Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT)
    }
    todo = [chunk for chunk in audible if chunk.key not in done]
    transcriber = get_transcriber()
    if todo:
        _transcribe_chunks(job, lease, transcriber, todo, finished=len(audible) - len(todo), total=len(audible))
        done = {
            artifact.key: artifact for artifact in Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT)
        }
    results = [(_plan(chunk), result_from_json(artifact_read_bytes(done[chunk.key]))) for chunk in audible]
    _commit_transcript(job, results)
    return None


def _transcribe_chunks(
    job: Job, lease: Lease, transcriber: Transcriber, todo: list[Artifact], *, finished: int, total: int
) -> None:
    lease.progress(finished, total)
    with scratch_dir() as folder:
        pool = ThreadPoolExecutor(max_workers=settings.TRANSCRIPTION_CONCURRENCY, thread_name_prefix="transcribe")
        pending: dict[Future[TranscriptionResult], Artifact] = {}
        queue: Iterator[Artifact] = iter(todo)
        failure: ProviderError | None = None
        try:
            # Keep at most `concurrency` requests in flight, so a cancel or a failure stops the rest unsent.
            for chunk in _take(queue, settings.TRANSCRIPTION_CONCURRENCY):
                pending[_submit(pool, transcriber, chunk, folder)] = chunk
            while pending:
                completed, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in completed:
                    chunk = pending.pop(future)
                    try:
                        result = future.result()
                    except ProviderError as error:
                        failure = failure or error
                        continue
                    artifact_store_bytes(
                        job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT, key=chunk.key, content=result_to_json(result)
                    )
                    finished += 1
                    lease.progress(finished, total)  # raises if canceled or the lease is gone
                if failure is None:
                    for chunk in _take(queue, len(completed)):
                        pending[_submit(pool, transcriber, chunk, folder)] = chunk
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if failure is not None:
            raise failure


def _take(queue: Iterator[Artifact], count: int) -> list[Artifact]:
    taken = []
    for _ in range(count):
        item = next(queue, None)
        if item is None:
            break
        taken.append(item)
    return taken


def _submit(
    pool: ThreadPoolExecutor, transcriber: Transcriber, chunk: Artifact, folder: Path
) -> Future[TranscriptionResult]:
    path = folder / f"chunk-{chunk.key}{Path(chunk.storage_name).suffix}"
    with default_storage.open(chunk.storage_name, "rb") as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink, length=1024 * 1024)
    duration = float(chunk.meta["end"]) - float(chunk.meta["start"])
    return pool.submit(transcriber.transcribe, path, duration=duration)


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
