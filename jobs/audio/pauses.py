"""Pauses near a planned cut: where in a short stretch of the recording the speech is quietest.

A chunk boundary in the middle of a word costs the model that word on one side of the seam; the overlap between
neighbours gives it a second chance, and a seam placed in a pause makes it unneeded. Only a window around each
planned seam is decoded (ten seconds of audio per seam), never the recording.

Loudness is FFmpeg's ``astats`` RMS over blocks of 50 ms, measured in C at the stream's own rate. A pause is a
stretch where every half second is as quiet as the quietest half second of the window; the seam goes in the
middle of the longest one (of those, the nearest the planned seam), so the answer depends on the audio alone and
a rerun finds the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import av.error
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.filter import Graph
from av.filter.context import FilterContext

from jobs.audio.container import AudioError, codec_name, decode_range

# How far either way of its planned place a seam may move to find a pause: a few seconds of audio decoded per seam.
PAUSE_SEARCH_SECONDS = 5.0
BLOCK_SECONDS = 0.05
# The pause looked for: long enough to fall between words rather than inside a short consonant's hush.
PAUSE_BLOCKS = 10
# Half-second runs within this factor of the quietest one's energy count as just as quiet.
QUIET_TOLERANCE = 1.05
_RMS_KEY = "lavfi.astats.Overall.RMS_level"


def quietest_point(container: InputContainer, stream: AudioStream, *, centre: float, radius: float) -> float:
    """The middle of the quietest pause within ``[centre - radius, centre + radius]`` of ``stream``, in the
    recording's seconds; ``centre`` itself when ``radius`` is too small to search or the window holds no audio."""
    if radius < BLOCK_SECONDS * PAUSE_BLOCKS:
        return centre
    low, high = max(centre - radius, 0.0), centre + radius
    try:
        blocks = list(_block_energies(container, stream, low, high))
    except av.error.FFmpegError as error:
        raise AudioError(f"The {codec_name(stream)} audio cannot be measured ({error.strerror}).") from None
    # Only runs that lie wholly within the window, so the seam moves by at most ``radius``.
    blocks = [
        (start, end, energy)
        for start, end, energy in blocks
        if start >= low and end <= high and end - start >= BLOCK_SECONDS / 2
    ]
    if len(blocks) < PAUSE_BLOCKS:
        return centre
    energies = []
    window = sum(energy for _, _, energy in blocks[:PAUSE_BLOCKS])
    for first in range(len(blocks) - PAUSE_BLOCKS + 1):
        if first:
            window += blocks[first + PAUSE_BLOCKS - 1][2] - blocks[first - 1][2]
        middle = (blocks[first][0] + blocks[first + PAUSE_BLOCKS - 1][1]) / 2
        energies.append((max(window, 0.0), middle))
    # Runs as quiet as the quietest (within rounding and a steady noise floor's wobble) make a pause; the seam goes
    # in the middle of the longest such pause, the one nearest the planned seam among equals.
    floor = min(energy for energy, _ in energies) * QUIET_TOLERANCE + 1e-12
    pauses: list[tuple[float, float]] = []
    for energy, middle in energies:
        if energy > floor:
            continue
        if pauses and middle - pauses[-1][1] <= BLOCK_SECONDS * 1.5:
            pauses[-1] = (pauses[-1][0], middle)
        else:
            pauses.append((middle, middle))
    first_middle, last_middle = min(pauses, key=lambda pause: (-(pause[1] - pause[0]), abs(sum(pause) / 2 - centre)))
    return round((first_middle + last_middle) / 2, 3)


def _block_energies(
    container: InputContainer, stream: AudioStream, start: float, end: float
) -> Iterator[tuple[float, float, float]]:
    """(start, end, mean square) of each 50 ms block of the audio decoded from ``[start, end)``."""
    meter: _EnergyMeter | None = None
    for frame in decode_range(container, stream, start, end):
        if meter is None:
            meter = _EnergyMeter(frame.time if frame.time is not None else start)
        yield from meter.push(frame)
    if meter is not None:
        yield from meter.flush()


class _EnergyMeter:
    """``astats`` over 50 ms blocks, rebuilt if the decoder changes format mid-stream; blocks are timed by counting
    samples from the first frame's time."""

    def __init__(self, position: float) -> None:
        self.position = position
        self._graph: Graph | None = None
        self._shape: tuple[str, str, int] | None = None

    def push(self, frame: AudioFrame) -> list[tuple[float, float, float]]:
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        blocks: list[tuple[float, float, float]] = []
        if self._graph is None or shape != self._shape:
            blocks = self.flush()
            self._graph, self._shape = _build(*shape), shape
        # Time is of no interest to the meter and a gap in it would only earn a warning; samples are counted.
        frame.pts = None
        self._graph.push(frame)
        return blocks + self._drain(self._graph)

    def flush(self) -> list[tuple[float, float, float]]:
        if self._graph is None:
            return []
        graph, self._graph = self._graph, None
        graph.push(None)
        return self._drain(graph)

    def _drain(self, graph: Graph) -> list[tuple[float, float, float]]:
        blocks: list[tuple[float, float, float]] = []
        while True:
            try:
                block = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return blocks
            assert isinstance(block, AudioFrame)
            seconds = block.samples / (block.sample_rate or 1)
            level = float(block.metadata.get(_RMS_KEY, "-inf"))
            energy = 0.0 if not math.isfinite(level) else 10 ** (level / 10)
            start, self.position = self.position, self.position + seconds
            blocks.append((start, self.position, energy))


def _build(sample_format: str, layout: str, rate: int) -> Graph:
    graph = Graph()
    nodes: list[FilterContext] = [
        graph.add_abuffer(format=sample_format, layout=layout, sample_rate=rate),
        graph.add("asetnsamples", f"n={max(round(rate * BLOCK_SECONDS), 1)}:p=0"),
        graph.add("astats", "metadata=1:reset=1:measure_perchannel=none:measure_overall=RMS_level"),
        graph.add("abuffersink"),
    ]
    graph.link_nodes(*nodes)
    graph.configure()
    return graph
