"""Opening a recording and reading its audio with PyAV, shared by the cutting and the silence check.

Whether a file is usable at all is decided once, at upload, by ``sessions.media.probe``; what fails here is a file
that changed since or a codec that breaks mid-stream, reported as ``AudioError`` without any of its content.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from fractions import Fraction

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer


class AudioError(Exception):
    """The audio could not be read, cut or encoded. The message names formats and codecs, never content."""


@contextlib.contextmanager
def open_audio(src: str | os.PathLike[str]) -> Iterator[tuple[InputContainer, AudioStream]]:
    """The opened file and its first audio stream (the one ``probe`` validated)."""
    try:
        container = av.open(os.fspath(src), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise AudioError(f"The file cannot be opened as audio ({error.strerror}).") from None
    with container:
        if not container.streams.audio:
            raise AudioError("The file has no audio stream.")
        yield container, container.streams.audio[0]


def codec_name(stream: AudioStream) -> str:
    """The codec as ``probe`` names it (``mp3`` rather than the ``mp3float`` decoder)."""
    codec = stream.codec_context.codec
    return codec.canonical_name or codec.name


def time_base(stream: AudioStream) -> Fraction:
    return stream.time_base or Fraction(1, stream.codec_context.sample_rate or 1)


def seek_before(container: InputContainer, stream: AudioStream, seconds: float) -> None:
    """Move to a packet at or before ``seconds``: never after it, so the caller skips forward to the exact point."""
    container.seek(math.floor(Fraction(seconds) / time_base(stream)), stream=stream, backward=True)


def decode_range(
    container: InputContainer, stream: AudioStream, start: float | None = None, end: float | None = None
) -> Iterator[AudioFrame]:
    """Decoded frames overlapping ``[start, end)`` (to the nearest frame), seeking to ``start`` first."""
    if start is not None and start > 0:
        seek_before(container, stream, start)
    base = time_base(stream)
    end_ticks = None if end is None else math.ceil(Fraction(end) / base)
    try:
        for packet in container.demux(stream):
            ticks = packet.pts if packet.pts is not None else packet.dts
            if end_ticks is not None and ticks is not None and ticks >= end_ticks:
                break
            # The demuxer's final empty packet flushes the decoder: the frames it held back come out here.
            for frame in packet.decode():
                if _in_range(frame, start, end):
                    yield frame
        else:
            return
        for frame in stream.codec_context.decode(None):
            if _in_range(frame, start, end):
                yield frame
    except av.error.FFmpegError as error:
        raise AudioError(f"The {codec_name(stream)} audio cannot be decoded ({error.strerror}).") from None


def _in_range(frame: AudioFrame, start: float | None, end: float | None) -> bool:
    frame_start = frame.time
    if frame_start is None:
        return True
    if start is not None and frame_start + frame.samples / (frame.sample_rate or 1) <= start:
        return False
    return end is None or frame_start < end
