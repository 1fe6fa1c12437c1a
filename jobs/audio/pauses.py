"""Pauses near a planned cut: where in a short stretch of the recording the speech is quietest.

A chunk boundary in the middle of a word costs the model that word on one side of the seam; the overlap between
neighbours gives it a second chance, and a seam placed in a pause makes it unneeded. Only a window around each
planned seam is decoded (ten seconds of audio per seam, a few tens of milliseconds), never the recording.

Loudness is the mean square of each decoded frame's samples (every few samples of one channel: plenty for
telling talk from a pause, and cheap enough that decoding costs more). A pause is a stretch where every half
second is as quiet as the quietest half second of the window; the seam goes in the middle of the longest one (of
those, the nearest the planned seam), so the answer depends on the audio alone and a rerun finds the same.
"""

from __future__ import annotations

import array
import operator
from dataclasses import dataclass

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer

from jobs.audio.container import AudioError, codec_name, decode_range

# How far either way of its planned place a seam may move to find a pause: a few seconds of audio decoded per seam.
PAUSE_SEARCH_SECONDS = 5.0
# The pause looked for: long enough to fall between words rather than inside a short consonant's hush.
PAUSE_SECONDS = 0.5
# Half-second stretches within this factor of the quietest one's energy count as just as quiet.
QUIET_TOLERANCE = 1.05
# Samples looked at per second of audio: energy needs no more, whatever the rate decoded at.
MEASURED_RATE = 8_000

# Decoded sample formats whose first plane is read as it is: array type code and full scale.
_SAMPLES = {
    "flt": ("f", 1.0),
    "fltp": ("f", 1.0),
    "dbl": ("d", 1.0),
    "dblp": ("d", 1.0),
    "s16": ("h", 32768.0),
    "s16p": ("h", 32768.0),
    "s32": ("i", 2147483648.0),
    "s32p": ("i", 2147483648.0),
}


@dataclass(frozen=True)
class _Frame:
    start: float
    end: float
    # Sum of the squared samples measured, on a full scale of 1, and how many were measured.
    energy: float
    count: int


def quietest_point(container: InputContainer, stream: AudioStream, *, centre: float, radius: float) -> float:
    """The middle of the quietest pause within ``[centre - radius, centre + radius]`` of ``stream``, in the
    recording's seconds; ``centre`` itself when ``radius`` is too small to search or the window holds no audio."""
    if radius < PAUSE_SECONDS:
        return centre
    low, high = max(centre - radius, 0.0), centre + radius
    try:
        # Only frames wholly within the window, so the seam moves by at most ``radius``.
        frames = [frame for frame in _frames(container, stream, low, high) if frame.start >= low and frame.end <= high]
    except av.error.FFmpegError as error:
        raise AudioError(f"The {codec_name(stream)} audio cannot be measured ({error.strerror}).") from None
    windows = _windows(frames)
    if not windows:
        return centre
    # Stretches as quiet as the quietest (within rounding and a steady noise floor's wobble) make a pause.
    floor = min(energy for energy, _ in windows) * QUIET_TOLERANCE + 1e-12
    pauses: list[tuple[float, float]] = []
    previous = -2
    for position, (energy, middle) in enumerate(windows):
        if energy > floor:
            continue
        if position == previous + 1:
            pauses[-1] = (pauses[-1][0], middle)
        else:
            pauses.append((middle, middle))
        previous = position
    first, last = min(pauses, key=lambda pause: (-(pause[1] - pause[0]), abs(sum(pause) / 2 - centre)))
    return round((first + last) / 2, 3)


def _windows(frames: list[_Frame]) -> list[tuple[float, float]]:
    """(mean square, middle) of each run of consecutive frames lasting about PAUSE_SECONDS, one per first frame."""
    windows = []
    last = 0  # the run is frames[first:last]
    energy, count = 0.0, 0
    for first, frame in enumerate(frames):
        if last <= first:
            last, energy, count = first, 0.0, 0
        else:
            energy -= frames[first - 1].energy if first else 0.0
            count -= frames[first - 1].count if first else 0
        while last < len(frames) and (last == first or frames[last].end - frame.start <= PAUSE_SECONDS + 1e-9):
            energy += frames[last].energy
            count += frames[last].count
            last += 1
        if frames[last - 1].end - frame.start < PAUSE_SECONDS * 0.8:
            break  # the runs left are too short to be a pause
        windows.append((max(energy, 0.0) / max(count, 1), (frame.start + frames[last - 1].end) / 2))
    return windows


def _frames(container: InputContainer, stream: AudioStream, start: float, end: float) -> list[_Frame]:
    frames = []
    resampler: av.AudioResampler | None = None
    for frame in decode_range(container, stream, start, end):
        if frame.time is None or not frame.samples:
            continue
        seconds = frame.samples / (frame.sample_rate or 1)
        layout = _SAMPLES.get(frame.format.name)
        measured = frame
        if layout is None:
            # Another sample format (8-bit, 64-bit integers): converted to 16 bits first.
            resampler = resampler or av.AudioResampler(format="s16", layout="mono")
            converted = resampler.resample(frame)
            if not converted:
                continue
            measured, layout = converted[0], _SAMPLES["s16"]
        frames.append(_Frame(frame.time, frame.time + seconds, *_energy(measured, *layout)))
    return frames


def _energy(frame: AudioFrame, typecode: str, scale: float) -> tuple[float, int]:
    samples = array.array(typecode)
    width = samples.itemsize
    channels = 1 if frame.format.is_planar else len(frame.layout.channels)
    samples.frombytes(memoryview(frame.planes[0])[: frame.samples * channels * width])
    # Every few samples of the first channel (the channels of a packed frame alternate).
    step = channels * max(1, (frame.sample_rate or MEASURED_RATE) // MEASURED_RATE)
    picked = samples[::step]
    return sum(map(operator.mul, picked, picked)) / (scale * scale), len(picked)
