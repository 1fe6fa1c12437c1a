"""Decode-probe of an uploaded file: is it audio we can use, how long, in what codec, how dense at its densest.

Pure PyAV, no Django: trusted only after decoding, never from the extension or the declared type.
A file is refused with a ``MediaRejected`` whose ``code`` is stable (for the API) and whose
``message`` is written for the clinician.
"""

from __future__ import annotations

import collections
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

# Container names as FFmpeg reports them, mapped to the MIME type we store and serve.
CONTAINER_CONTENT_TYPES = {
    "matroska,webm": "audio/webm",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
    "aac": "audio/aac",
    "aiff": "audio/aiff",
}
# How much audio is decoded to prove the stream is real audio, not just a plausible header.
DECODE_CHECK_SECONDS = 30.0
# A file whose packets end this far before the duration its header declares was cut short.
TRUNCATION_TOLERANCE = 0.95
# Window over which the peak byte rate is measured: long enough to smooth over single loud passages, short
# enough that a dense stretch of a VBR recording is not averaged away by the quiet ones around it.
BYTE_RATE_WINDOW_SECONDS = 60.0


class MediaRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MediaInfo:
    container: str
    content_type: str
    codec: str
    duration_seconds: float
    sample_rate: int | None
    channels: int | None
    has_video: bool
    # The audio's peak byte rate over any BYTE_RATE_WINDOW_SECONDS (see ByteRateMeter), what the pipeline plans
    # its chunks by; measured here because the probe reads every packet anyway.
    peak_bytes_per_second: float | None = None


def format_duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def probe(path: str | os.PathLike[str], *, max_seconds: float | None = None) -> MediaInfo:
    """Probe the file at ``path``; raise ``MediaRejected`` with a specific reason if it is unusable."""
    if Path(path).stat().st_size == 0:
        raise MediaRejected(
            "empty_file", "The file is empty (0 bytes). Choose the recording again; it may not have finished saving."
        )
    try:
        container = av.open(os.fspath(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise MediaRejected(
            "not_audio",
            "This file is not audio or video that can be read. "
            "Upload a recording such as .webm, .mp3, .m4a, .wav, .flac or .ogg.",
        ) from None
    with container:
        if not container.streams.audio:
            raise MediaRejected(
                "no_audio_track",
                "This file has no audio track. If it is a video of the session, export it again with its sound.",
            )
        stream = container.streams.audio[0]
        codec_context = stream.codec_context
        if codec_context is None or codec_context.codec is None or not codec_context.codec.is_decoder:
            raise MediaRejected("unsupported_codec", "The audio in this file uses a codec that cannot be decoded.")
        codec = codec_context.codec.canonical_name or codec_context.codec.name
        declared = _declared_duration(container, stream)
        meter = ByteRateMeter(_time_base(stream))
        end = _decode_and_measure(container, stream, meter)
        has_video = bool(container.streams.video) and any(
            s.codec_context.name not in {"mjpeg", "png"} for s in container.streams.video
        )
        format_name = container.format.name
        peak = meter.peak_bytes_per_second(file_bytes=None if container.streams.video else Path(path).stat().st_size)

    if end is None or end <= 0:
        raise MediaRejected("no_audio", "No audio could be decoded from this file. It may be damaged or empty.")
    if declared and end < declared * TRUNCATION_TOLERANCE - 1.0:
        raise MediaRejected(
            "truncated",
            f"The recording is incomplete: its audio stops at {format_duration(end)} although the file says it lasts "
            f"{format_duration(declared)}. It was probably cut off while saving or copying. Upload the complete file.",
        )
    if max_seconds is not None and end > max_seconds:
        raise MediaRejected(
            "too_long",
            f"The recording lasts {format_duration(end)}; the longest accepted is {format_duration(max_seconds)}. "
            "Split it into shorter recordings.",
        )
    return MediaInfo(
        container=format_name,
        content_type=(
            "video/mp4"
            if has_video and format_name.startswith("mov")
            else CONTAINER_CONTENT_TYPES.get(format_name, "application/octet-stream")
        ),
        codec=codec,
        duration_seconds=round(end, 3),
        sample_rate=codec_context.sample_rate or None,
        channels=codec_context.channels or None,
        has_video=has_video,
        peak_bytes_per_second=peak,
    )


def _declared_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    # The container's duration covers every stream; only trust it for the audio when there is no video.
    if container.duration is not None and not container.streams.video:
        return container.duration / av.time_base
    return None


def _time_base(stream: av.audio.stream.AudioStream) -> Fraction:
    return stream.time_base or Fraction(1, stream.codec_context.sample_rate or 1)


def _decode_and_measure(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, meter: ByteRateMeter
) -> float | None:
    """Decode the opening seconds (proof the audio is real) and demux the rest to find where it ends, counting
    the packets' bytes into ``meter`` on the way."""
    time_base = _time_base(stream)
    start: int | None = None
    end: int | None = None
    decoded_seconds = 0.0
    decoded_any = False
    try:
        for packet in container.demux(stream):
            pts = packet.pts
            if pts is None:
                continue
            if start is None:
                start = pts
            packet_end = pts + (packet.duration or 0)
            end = packet_end if end is None else max(end, packet_end)
            meter.add(pts, packet.size, packet_end)
            if decoded_seconds < DECODE_CHECK_SECONDS:
                for frame in packet.decode():
                    decoded_any = True
                    decoded_seconds += frame.samples / (frame.sample_rate or 1)
    except av.error.FFmpegError:
        if not decoded_any:
            raise MediaRejected(
                "corrupt",
                "The audio in this file is damaged and cannot be decoded. Export or record it again.",
            ) from None
    if not decoded_any or start is None or end is None:
        return None
    return float(end * time_base)


class ByteRateMeter:
    """Peak byte rate of an audio stream over any ``window_seconds``, fed one packet at a time.

    A VBR recording is denser where people talk than where they pause: planning chunks by its mean rate would
    overfill the chunks that cover the talk. Container framing (block headers, pages, index) comes on top of the
    packets; in an audio-only file it is everything that is not a packet, so the result is scaled by the file's
    size over the packets' bytes when that size is given (a video's audio is sent alone, with negligible
    framing: no size is given for it). A stream shorter than the window is measured whole.
    """

    def __init__(self, time_base: Fraction, window_seconds: float = BYTE_RATE_WINDOW_SECONDS) -> None:
        self.time_base = time_base
        self.window_seconds = window_seconds
        self._window = math.ceil(Fraction(window_seconds) / time_base)
        # (start, size) of the packets in the current window; the heaviest window total is kept as we go.
        self._recent: collections.deque[tuple[int, int]] = collections.deque()
        self._window_bytes = 0
        self._peak_bytes = 0
        self.total_bytes = 0
        self._first: int | None = None
        self._end = 0

    def add(self, ticks: int, size: int, end: int) -> None:
        """One packet: its start and end in the stream's ticks, its size in bytes."""
        if not size:
            return
        if self._first is None:
            self._first = ticks
        if end > self._end:
            self._end = end
        recent = self._recent
        recent.append((ticks, size))
        self._window_bytes += size
        self.total_bytes += size
        limit = self._end - self._window
        while recent[0][0] < limit:
            self._window_bytes -= recent.popleft()[1]
        if self._window_bytes > self._peak_bytes:
            self._peak_bytes = self._window_bytes

    def peak_bytes_per_second(self, *, file_bytes: int | None) -> float | None:
        """The peak rate, framing included when ``file_bytes`` is given; None when no packet was counted."""
        if self._first is None or not self.total_bytes:
            return None
        framing = 1.0 if file_bytes is None else max(1.0, file_bytes / self.total_bytes)
        span = self._end - self._first
        if span <= self._window:
            return framing * self.total_bytes / max(float(span * self.time_base), 1e-3)
        return framing * self._peak_bytes / self.window_seconds
