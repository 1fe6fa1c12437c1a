"""The audio of a recording made in the browser, from its parts joined in order.

Pure PyAV, no Django, like ``sessions.media``. MediaRecorder cuts its output into timeslices: the first holds
the container's header, the later ones continue its clusters (WebM) or fragments (MP4). Joined in order they
make one file whose header has no duration and which, when the recorder never stopped (a closed tab, a crash),
ends in the middle of a cluster. Such a file is valid up to its last decodable packet, which is where its
audio ends.

``rewrite_joined_parts`` decodes every packet to prove it and to find that end, and copies the packets that
decode, without re-encoding, into a new file of the same kind: its header then states the real duration and
it ends cleanly, so the pipeline reads it like any upload.
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from sessions.media import MediaRejected, format_duration

logger = logging.getLogger(__name__)

# Undecodable bytes are accepted at the end of the last part only (a recorder stopped mid-cluster); a packet
# header or a cluster's start may straddle the boundary with the part before, hence this slack.
TAIL_SLACK_BYTES = 16 * 1024
# The container written for each container the parts may come in, and the codecs it takes.
_WEBM_CODECS = frozenset({"opus", "vorbis"})
_REWRITE = {
    "matroska,webm": ("matroska", ".mka"),
    "ogg": ("ogg", ".ogg"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("mp4", ".m4a"),
}


@dataclass(frozen=True)
class JoinedAudio:
    path: Path
    duration_seconds: float
    # Whether ``path`` is the rewritten file (else the joined parts as they came, when they could not be copied).
    rewritten: bool


def rewrite_joined_parts(
    joined: Path, *, part_offsets: Sequence[int], out_dir: Path, max_seconds: float | None = None
) -> JoinedAudio:
    """Validate the joined parts at ``joined`` (``part_offsets``: where each part starts in it) and write the
    audio they hold into ``out_dir``. Raises ``MediaRejected`` when they hold no usable audio, or when audio
    stops decoding before the last part (damage the rewrite would silently drop)."""
    if joined.stat().st_size == 0:
        raise MediaRejected("empty_file", "The recording has no data.")
    try:
        source = av.open(os.fspath(joined), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise MediaRejected(
            "not_audio",
            "The first part of the recording is not audio that can be read, so none of it can be used. "
            "Discard it and record again.",
        ) from None
    with source:
        if not source.streams.audio:
            raise MediaRejected("no_audio_track", "The recording has no audio track.")
        stream = source.streams.audio[0]
        context = stream.codec_context
        if context is None or context.codec is None or not context.codec.is_decoder:
            raise MediaRejected("unsupported_codec", "The recording's audio uses a codec that cannot be decoded.")
        writer = _Writer.open(source.format.name, stream, out_dir)
        end, last_byte = _copy_decodable(source, stream, writer)
        rewritten = writer is not None and writer.close()
    if end is None:
        raise MediaRejected("no_audio", "No audio could be decoded from the recording. Discard it and record again.")
    _check_damage_is_only_at_the_end(last_byte, part_offsets)
    if max_seconds is not None and end > max_seconds:
        raise MediaRejected(
            "too_long",
            f"The recording lasts {format_duration(end)}; the longest accepted is {format_duration(max_seconds)}.",
        )
    if rewritten and writer is not None:
        return JoinedAudio(path=writer.path, duration_seconds=round(end, 3), rewritten=True)
    return JoinedAudio(path=joined, duration_seconds=round(end, 3), rewritten=False)


def _copy_decodable(
    source: av.container.InputContainer, stream: av.audio.stream.AudioStream, writer: _Writer | None
) -> tuple[float | None, int | None]:
    """Decode every packet; copy those that decode to ``writer``. Returns where the audio ends (seconds) and
    the byte after the last packet that decoded (None when the demuxer does not say)."""
    time_base: Fraction = stream.time_base or Fraction(1, stream.codec_context.sample_rate or 1)
    end: int | None = None
    last_byte: int | None = None
    try:
        for packet in source.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            try:
                packet.decode()
            except av.error.FFmpegError:
                continue
            packet_end = packet.pts + (packet.duration or 0)
            end = packet_end if end is None else max(end, packet_end)
            if packet.pos is not None and packet.pos >= 0:
                last_byte = max(last_byte or 0, packet.pos + packet.size)
            if writer is not None:
                writer.write(packet)
    except av.error.FFmpegError:
        # The joined file ends inside an element: everything before it has been read.
        pass
    return (float(end * time_base) if end is not None else None), last_byte


def _check_damage_is_only_at_the_end(last_byte: int | None, part_offsets: Sequence[int]) -> None:
    if last_byte is None or len(part_offsets) < 2:
        return
    last_part_start = part_offsets[-1]
    if last_byte >= last_part_start - TAIL_SLACK_BYTES:
        return
    # The part in which decodable audio stops (0-based, as the parts are numbered).
    stopped_in = bisect_right(part_offsets, last_byte) - 1
    raise MediaRejected(
        "corrupt",
        f"The recording's audio stops decoding in part {stopped_in} of {len(part_offsets)}: the parts after it "
        "are damaged. They are kept; send them again if the recording page still has them, or discard the "
        "recording.",
    )


class _Writer:
    """Copies packets into a new file of the same kind; stops copying (and is ignored) at its first error."""

    def __init__(self, output: Any, stream: Any, path: Path) -> None:
        self.output = output
        self.stream = stream
        self.path = path
        self.failed = False
        self.written = 0

    @classmethod
    def open(cls, format_name: str, template: av.audio.stream.AudioStream, out_dir: Path) -> _Writer | None:
        if format_name not in _REWRITE:
            return None
        muxer, extension = _REWRITE[format_name]
        codec = template.codec_context.name if template.codec_context else ""
        if muxer == "matroska" and codec in _WEBM_CODECS:
            muxer, extension = "webm", ".webm"
        path = out_dir / f"recording{extension}"
        try:
            output = av.open(os.fspath(path), mode="w", format=muxer)
            stream = output.add_stream_from_template(template)
        except (av.error.FFmpegError, ValueError):
            logger.info("recording parts in %s cannot be rewritten as %s; kept as joined", format_name, muxer)
            return None
        return cls(output, stream, path)

    def write(self, packet: av.Packet[Any]) -> None:
        if self.failed:
            return
        try:
            packet.stream = self.stream
            self.output.mux(packet)
            self.written += 1
        except (av.error.FFmpegError, ValueError):
            logger.info("recording parts could not be rewritten; kept as joined", exc_info=True)
            self.failed = True

    def close(self) -> bool:
        """Finish the file; whether it holds every decodable packet."""
        try:
            self.output.close()
        except (av.error.FFmpegError, ValueError):
            self.failed = True
        return not self.failed and self.written > 0
