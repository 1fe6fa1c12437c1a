"""Cutting a recording into the chunks sent for transcription, in a thread beside the stage that sends them.

The cutter plans the chunks (``jobs.audio.plan``) from what the upload's probe recorded, then cuts them in one
stream-copy pass over the recording (``jobs.audio.split``), placing each seam in the quietest moment near where it
was planned (``jobs.audio.pauses``) as the pass comes to it. Every chunk is handed over as soon as its file is
complete, so the first one is on its way to the provider while the rest of the file is still being read.

The thread touches files only: the database, and so every artifact, is written by the stage's own thread, which
reads the cutter's reports from a queue. Nothing here decodes the whole recording: seams decode a few seconds
each, and the digital-silence check of a chunk with sound stops at its first loud moment.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from av.audio.stream import AudioStream
from av.container import InputContainer

from jobs.audio.container import open_audio
from jobs.audio.pauses import PAUSE_SEARCH_SECONDS, quietest_point
from jobs.audio.plan import (
    ChunkPlan,
    CopyTarget,
    ProviderLimits,
    max_chunk_seconds,
    plan_chunks,
    seam_centre,
    seam_room,
    stream_copy_target,
)
from jobs.audio.silence import is_digital_silence
from jobs.audio.split import audio_bytes_per_second, stream_copy_as_cut, transcode_to_opus


@dataclass(frozen=True)
class Source:
    """The recording as the upload's probe described it."""

    path: Path
    container: str
    codec: str
    duration_seconds: float
    # None for a recording stored before the probe measured it: the cutter measures it then.
    peak_bytes_per_second: float | None


@dataclass(frozen=True)
class Sizing:
    """How the chunks are sized: the provider's limits, the seams' overlap, the requests allowed at once, and the
    shortest chunk worth a request."""

    limits: ProviderLimits
    overlap_seconds: float
    concurrency: int
    min_chunk_seconds: float


@dataclass(frozen=True)
class Planned:
    """The chunks as planned (their seams move a little when cut), and the recording's byte rate if it had to be
    measured."""

    chunks: list[ChunkPlan]
    suffix: str
    measured_bytes_per_second: float | None


@dataclass(frozen=True)
class Cut:
    """One chunk's file, complete, with the bounds it was cut to; ``seconds`` from the cutter's start."""

    chunk: ChunkPlan
    path: Path
    silent: bool
    seconds: float


@dataclass(frozen=True)
class Finished:
    """The pass ended: ``seconds`` from the cutter's start to its last chunk; ``stopped`` if asked to stop first."""

    seconds: float
    stopped: bool


@dataclass(frozen=True)
class Failed:
    error: BaseException


Report = Planned | Cut | Finished | Failed


def plan_for(source: Source, sizing: Sizing, *, bytes_per_second: float) -> list[ChunkPlan]:
    return plan_chunks(
        source.duration_seconds,
        bytes_per_second=bytes_per_second,
        limits=sizing.limits,
        overlap_seconds=sizing.overlap_seconds,
        concurrency=sizing.concurrency,
        min_chunk_seconds=sizing.min_chunk_seconds,
    )


class ChunkCutter:
    """Plans and cuts ``source`` into ``folder`` on a thread of its own, putting a ``Report`` on ``reports`` for
    the plan, for each chunk in order, and for the end (``Finished`` or ``Failed``, always exactly one)."""

    def __init__(self, source: Source, sizing: Sizing, folder: Path, reports: queue.Queue[object]) -> None:
        self.source = source
        self.sizing = sizing
        self.folder = folder
        self.reports = reports
        self._stop = threading.Event()
        self._started = 0.0
        self._thread = threading.Thread(target=self._run, name="chunk-cutter", daemon=True)

    def start(self) -> ChunkCutter:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the pass to end at its next check (a few milliseconds of packets); chunks already cut stay."""
        self._stop.set()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        started = self._started = time.monotonic()
        try:
            with contextlib.closing(self._cut()) as reports:
                for report in reports:
                    self.reports.put(report)
                    if self._stop.is_set():
                        break
            self.reports.put(Finished(seconds=time.monotonic() - started, stopped=self._stop.is_set()))
        except BaseException as error:  # noqa: BLE001 — handed to the stage's thread, which raises it there
            self.reports.put(Failed(error))

    def _cut(self) -> Generator[Report]:
        source = self.source
        path, target = source.path, stream_copy_target(source.container, source.codec)
        measured = None
        if target is None:
            # Transcoded once, then cut like any other upload; its byte rate is that of the copy.
            path = transcode_to_opus(source.path, self.folder / "normalised.ogg")
            target = stream_copy_target("ogg", "opus")
            assert target is not None
            bytes_per_second = audio_bytes_per_second(path)
        elif source.peak_bytes_per_second is None:
            # A recording stored before uploads measured it: one more read, this once.
            bytes_per_second = measured = audio_bytes_per_second(path)
        else:
            bytes_per_second = source.peak_bytes_per_second
        chunks = plan_for(source, self.sizing, bytes_per_second=bytes_per_second)
        yield Planned(chunks=chunks, suffix=target.suffix, measured_bytes_per_second=measured)
        yield from self._pass(path, target, chunks, bytes_per_second)

    def _pass(self, path: Path, target: CopyTarget, chunks: list[ChunkPlan], bytes_per_second: float) -> Iterator[Cut]:
        longest = max_chunk_seconds(bytes_per_second=bytes_per_second, limits=self.sizing.limits)
        reach = min(
            PAUSE_SEARCH_SECONDS,
            seam_room(chunks, longest=longest, shortest=min(self.sizing.min_chunk_seconds, longest)),
        )
        with contextlib.ExitStack() as stack:
            opened: list[tuple[InputContainer, AudioStream]] = []

            def place_seam(index: int) -> float:
                centre = seam_centre(chunks[index], chunks[index + 1])
                if not opened:
                    # The seams are measured on a second reader of the same file, so the pass keeps its place.
                    opened.append(stack.enter_context(open_audio(path)))
                container, stream = opened[0]
                return quietest_point(container, stream, centre=centre, radius=reach)

            for chunk, chunk_path in stream_copy_as_cut(
                path,
                chunks,
                lambda chunk: self.folder / f"chunk-{chunk.index}{target.suffix}",
                place_seam=place_seam if reach > 0 else None,
                seam_reach=reach,
                overlap_seconds=self.sizing.overlap_seconds,
                stop=self._stop.is_set,
            ):
                silent = is_digital_silence(chunk_path)
                yield Cut(chunk=chunk, path=chunk_path, silent=silent, seconds=time.monotonic() - self._started)
