"""Digital silence: audio that is all zeros or a hair above, as from a muted microphone or a padded recording.

Whisper does not return nothing for nothing: given silence it invents sentences ("Thank you for watching."), so a
chunk that is digital silence is not sent at all. The bar is a peak level, not a loudness: a room with people in
it, however quiet, peaks well above -60 dBFS (the noise floor of a good microphone preamplifier sits around
-70 dBFS), while digital silence and dither stay far below it.

The answer for a chunk with sound comes from its first loud block, usually within the first second, so the check
costs almost nothing there; a chunk of silence is decoded to its end to prove it (about a second for 20 minutes of
Opus). Peaks are measured in C by FFmpeg's ``astats`` filter at the stream's own rate, over every channel.
"""

from __future__ import annotations

import math
import os

import av.error
from av.audio.frame import AudioFrame
from av.filter import Graph
from av.filter.context import FilterContext

from jobs.audio.container import decode_range, open_audio

DIGITAL_SILENCE_DBFS = -60.0
_PEAK_KEY = "lavfi.astats.Overall.Peak_level"


def peak_dbfs(
    src: str | os.PathLike[str],
    *,
    start: float | None = None,
    end: float | None = None,
    stop_above: float | None = None,
) -> float:
    """Highest sample level of the audio in ``[start, end)``, in dBFS (``-inf`` for exact zeros).

    With ``stop_above``, decoding stops within a quarter of a second of the first sample louder than that, and the
    peak so far is returned.
    """
    peak = -math.inf
    meter = _PeakMeter()
    with open_audio(src) as (container, stream):
        for frame in decode_range(container, stream, start, end):
            peak = max(peak, meter.push(frame))
            if stop_above is not None and peak > stop_above:
                return peak
    return max(peak, meter.flush())


def is_digital_silence(
    src: str | os.PathLike[str],
    *,
    start: float | None = None,
    end: float | None = None,
    threshold_dbfs: float = DIGITAL_SILENCE_DBFS,
) -> bool:
    """True when no sample in ``[start, end)`` rises above ``threshold_dbfs``, so the stretch is not worth sending."""
    return peak_dbfs(src, start=start, end=end, stop_above=threshold_dbfs) <= threshold_dbfs


class _PeakMeter:
    """FFmpeg's ``astats`` over blocks of a quarter of a second, rebuilt if the decoder changes format mid-stream.

    Decoders hand over 20-60 ms frames; measuring each one costs more than decoding it, so frames are gathered
    into blocks first (``asetnsamples``) and only blocks are measured and read back.
    """

    BLOCKS_PER_SECOND = 4

    def __init__(self) -> None:
        self._graph: Graph | None = None
        self._shape: tuple[str, str, int] | None = None

    def push(self, frame: AudioFrame) -> float:
        """Feed one frame; the peak of the blocks it completed (``-inf`` if none)."""
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        peak = -math.inf
        if self._graph is None or shape != self._shape:
            peak = self.flush()
            self._graph, self._shape = self._build(*shape), shape
        # Time is of no interest to the meter and a gap or jump in it would only earn a warning.
        frame.pts = None
        self._graph.push(frame)
        return max(peak, self._drain(self._graph))

    def flush(self) -> float:
        """The peak of the last, partial block."""
        if self._graph is None:
            return -math.inf
        graph, self._graph = self._graph, None
        graph.push(None)
        return self._drain(graph)

    @staticmethod
    def _drain(graph: Graph) -> float:
        peak = -math.inf
        while True:
            try:
                block = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return peak
            peak = max(peak, float(block.metadata.get(_PEAK_KEY, "-inf")))

    @classmethod
    def _build(cls, sample_format: str, layout: str, rate: int) -> Graph:
        graph = Graph()
        nodes: list[FilterContext] = [
            graph.add_abuffer(format=sample_format, layout=layout, sample_rate=rate),
            graph.add("asetnsamples", f"n={max(rate // cls.BLOCKS_PER_SECOND, 1)}:p=0"),
            graph.add("astats", "metadata=1:reset=1:measure_perchannel=none:measure_overall=Peak_level"),
            graph.add("abuffersink"),
        ]
        graph.link_nodes(*nodes)
        graph.configure()
        return graph
