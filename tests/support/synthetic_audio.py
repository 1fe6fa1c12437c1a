"""WAV files of known content made on the spot: stretches of tone at exact levels or of digital silence."""

from __future__ import annotations

import array
import math
import os
from collections.abc import Sequence
from pathlib import Path

import av
from av.audio.stream import AudioStream

TONE_HZ = 440


def write_wav(
    dst: Path,
    parts: Sequence[tuple[float, float | None]],
    *,
    rate: int = 16_000,
    channels: int = 1,
    codec: str = "pcm_s16le",
) -> Path:
    """A WAV of ``(seconds, level_dbfs)`` stretches: a 440 Hz sine peaking at that level, or zeros for ``None``."""
    layout = "stereo" if channels == 2 else "mono"
    pts = 0
    with av.open(os.fspath(dst), mode="w", format="wav") as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, AudioStream)
        for seconds, level_dbfs in parts:
            # A whole number of cycles fits in one second, so one second of samples repeats seamlessly.
            one_second = _one_second(level_dbfs, rate=rate, channels=channels)
            remaining = round(seconds * rate)
            while remaining:
                count = min(rate, remaining)
                frame = av.AudioFrame(format="s16", layout=layout, samples=count)
                frame.sample_rate = rate
                frame.pts = pts
                frame.planes[0].update(one_second[: count * channels * 2])
                output.mux(stream.encode(frame))
                pts += count
                remaining -= count
        output.mux(stream.encode(None))
    return dst


def _one_second(level_dbfs: float | None, *, rate: int, channels: int) -> bytes:
    if level_dbfs is None:
        return bytes(rate * channels * 2)
    amplitude = 32767 * 10 ** (level_dbfs / 20)
    samples = array.array(
        "h",
        (round(amplitude * math.sin(2 * math.pi * TONE_HZ * i / rate)) for i in range(rate) for _ in range(channels)),
    )
    return samples.tobytes()
