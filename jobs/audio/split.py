"""Cutting a recording into the files sent for transcription, with PyAV (FFmpeg's libraries, no ffmpeg binary).

Stream copy moves compressed packets from one container into another without decoding them: it runs at disk
speed, thousands of times real time, and is what the provider gets whenever it accepts the codec
(``plan.provider_accepts``). Everything else is transcoded once to 16 kHz mono Ogg/Opus, which the provider accepts
and which is then cut by stream copy like any other upload.

Every output is written to a temporary name beside its destination and renamed into place, so a file at the
destination is always complete.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet

from jobs.audio.container import AudioError, codec_name, decode_range, open_audio, time_base
from jobs.audio.plan import ChunkPlan, CopyTarget, stream_copy_target

# Everything this module raises; the name its callers catch.
AudioSplitError = AudioError

# Speech carries little above 8 kHz, and Whisper resamples everything to 16 kHz mono before listening.
OPUS_SAMPLE_RATE = 16_000
# Wideband speech is clean in Opus well below this; the headroom makes up for the cheap effort level below, and
# at ~4 kB/s one whisper-1 request still holds over 90 minutes.
OPUS_BIT_RATE = 32_000
# libopus tuned for speed on speech: the VoIP mode (SILK, built for speech), 60 ms frames (a third of the
# per-frame work of 20 ms ones) and effort 1 of 0-10. Measured on 16 kHz mono here: effort 0-1 encodes at ~550x
# real time, 7-10 at ~330x and, not monotonically, 3-5 at ~160-220x.
OPUS_OPTIONS = {"application": "voip", "frame_duration": "60", "compression_level": "1"}
# Window over which the peak byte rate is measured: long enough to smooth over single loud passages, short
# enough that a dense stretch of a VBR recording is not averaged away by the quiet ones around it.
BYTE_RATE_WINDOW_SECONDS = 60.0


def audio_bytes_per_second(src: str | os.PathLike[str], *, window_seconds: float = BYTE_RATE_WINDOW_SECONDS) -> float:
    """Peak byte rate of the audio over any ``window_seconds``, container framing included, for planning by size.

    A VBR recording is denser where people talk than where they pause: planning by its mean rate would overfill
    the chunks that cover the talk. Only packets are read (no decoding): a pass at disk speed, about a second
    for two hours. The audio stream alone is measured: the video of a telehealth recording is not sent. A
    recording shorter than the window is measured whole.
    """
    with open_audio(src) as (container, stream):
        base = time_base(stream)
        window = math.ceil(Fraction(window_seconds) / base)
        # (start, size) of the packets in the current window, heaviest window total kept as we go.
        recent: collections.deque[tuple[int, int]] = collections.deque()
        window_bytes = peak_bytes = total_bytes = 0
        first: int | None = None
        end = 0
        for packet in container.demux(stream):
            ticks = packet.pts if packet.pts is not None else packet.dts
            if not packet.size or ticks is None:
                continue
            if first is None:
                first = ticks
            end = max(end, ticks + (packet.duration or 0))
            recent.append((ticks, packet.size))
            window_bytes += packet.size
            total_bytes += packet.size
            while recent[0][0] < end - window:
                window_bytes -= recent.popleft()[1]
            peak_bytes = max(peak_bytes, window_bytes)
        has_video = bool(container.streams.video)
    if first is None:
        raise AudioError("The audio stream has no packets.")
    # Container framing (block headers, pages, index) comes on top of the packets; in an audio-only file it is
    # everything that is not a packet. The audio of a video is muxed into .m4a, whose framing is negligible.
    framing = 1.0 if has_video else max(1.0, Path(src).stat().st_size / total_bytes)
    span = end - first
    if span <= window:
        return framing * total_bytes / max(float(span * base), 1e-3)
    return framing * peak_bytes / window_seconds


def split_by_stream_copy(
    src: str | os.PathLike[str],
    chunks: Sequence[ChunkPlan],
    destination: Callable[[ChunkPlan], str | os.PathLike[str]],
) -> list[Path]:
    """Cut every chunk of ``chunks`` in one pass over ``src``; ``destination(chunk)`` names each output.

    One pass reads the file once whatever the number of chunks; a packet in an overlap goes to both neighbours. The
    first chunk starts at the file's first packet and the last one ends at its last, so nothing at either end of
    the recording is lost to rounding of the probed duration (or to the padding of a transcoded copy).
    """
    return _stream_copy(src, chunks, destination)


def _stream_copy(
    src: str | os.PathLike[str],
    chunks: Sequence[ChunkPlan],
    destination: Callable[[ChunkPlan], str | os.PathLike[str]],
) -> list[Path]:
    if not chunks:
        return []
    ordered = sorted(chunks, key=lambda chunk: chunk.start)
    with open_audio(src) as (container, stream), contextlib.ExitStack() as cleanup:
        base = time_base(stream)
        codec = codec_name(stream)
        target = stream_copy_target(container.format.name, codec)
        if target is None:
            raise AudioError(f"{codec} audio in {container.format.name} cannot be cut by stream copy.")
        last = len(ordered) - 1
        cuts = [
            _Cut(
                chunk=chunk,
                dst=Path(destination(chunk)),
                # Bounds in the stream's own ticks, so that the loop over packets compares integers.
                low=-math.inf if position == 0 and chunk.start <= 0 else _ticks(chunk.start, base),
                high=math.inf if position == last else _ticks(chunk.end, base),
            )
            for position, chunk in enumerate(ordered)
        ]
        for cut in cuts:
            if cut.dst.suffix.lower() != target.suffix:
                raise ValueError(f"a stream-copied cut of this file must be named *{target.suffix}, not {cut.dst.name}")
        cleanup.callback(_discard_unfinished, cuts)
        try:
            _copy_packets(container, stream, target, cuts)
        except av.error.FFmpegError as error:
            raise AudioError(f"Stream copy of {codec} audio failed ({error.strerror}).") from None
    empty = [cut.chunk.index for cut in cuts if not cut.done]
    if empty:
        raise AudioError(f"No audio packets fall within chunk(s) {empty}.")
    return [cut.dst for cut in cuts]


def _ticks(seconds: float, base: Fraction) -> float:
    """The first tick at or after ``seconds``; infinities stay infinite."""
    return seconds if math.isinf(seconds) else math.ceil(Fraction(seconds) / base)


def _copy_packets(container: InputContainer, stream: AudioStream, target: CopyTarget, cuts: Sequence[_Cut]) -> None:
    """The one loop that sees every packet of a long file: kept to integer comparisons and attribute access."""
    pending = collections.deque(cuts)
    active: list[_Cut] = []
    next_low = pending[0].low
    next_high: float = math.inf
    for packet in container.demux(stream):
        # The demuxer ends with an empty packet per stream, a flush signal for decoders, not data.
        if not packet.size:
            continue
        ticks = packet.pts if packet.pts is not None else packet.dts
        if ticks is None:
            continue
        if ticks >= next_high:
            for cut in [cut for cut in active if ticks >= cut.high]:
                cut.finish()
                active.remove(cut)
            next_high = min((cut.high for cut in active), default=math.inf)
        if ticks >= next_low:
            while pending and ticks >= pending[0].low:
                cut = pending.popleft()
                if ticks < cut.high:
                    cut.open(stream, target)
                    active.append(cut)
            next_low = pending[0].low if pending else math.inf
            next_high = min((cut.high for cut in active), default=math.inf)
        if len(active) == 1:
            active[0].write(packet, ticks, keep=False)
        elif active:
            for cut in active:
                cut.write(packet, ticks, keep=True)
        elif not pending:
            break
    for cut in active:
        cut.finish()


def transcode_to_opus(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    start: float | None = None,
    end: float | None = None,
) -> Path:
    """Decode ``src`` (its first audio stream) and encode 16 kHz mono Ogg/Opus at a speech bit rate into ``dst``.

    ``start``/``end`` select a stretch of the recording, to the nearest decoded frame; the output starts at 0.
    """
    dst_path = Path(dst)
    part = _part_path(dst_path)
    try:
        with open_audio(src) as (container, stream), av.open(os.fspath(part), mode="w", format="ogg") as output:
            encoder = output.add_stream("libopus", rate=OPUS_SAMPLE_RATE, options=OPUS_OPTIONS)
            encoder.bit_rate = OPUS_BIT_RATE
            encoder.layout = "mono"
            for frame in decode_range(container, stream, start, end):
                # The encoder resamples, downmixes and reframes; with no input time it counts samples from 0.
                frame.pts = None
                output.mux(encoder.encode(frame))
            output.mux(encoder.encode(None))
        part.replace(dst_path)
    except av.error.FFmpegError as error:
        part.unlink(missing_ok=True)
        raise AudioError(f"Transcoding to Opus failed ({error.strerror}).") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return dst_path


@dataclass
class _Cut:
    chunk: ChunkPlan
    dst: Path
    low: float
    high: float
    output: OutputContainer | None = None
    out_stream: AudioStream | None = None
    offset: int | None = None
    # Length so far, in the source's ticks (packets are counted before muxing rescales them).
    ticks: int = 0
    source_base: Fraction = Fraction(1)
    done: bool = False
    part: Path = field(init=False)

    def __post_init__(self) -> None:
        self.part = _part_path(self.dst)

    def open(self, template: AudioStream, target: CopyTarget) -> None:
        self.output = av.open(os.fspath(self.part), mode="w", format=target.muxer)
        self.out_stream = self.output.add_stream_from_template(template)
        self.source_base = time_base(template)
        if _is_flac(self.out_stream):
            # The copied STREAMINFO describes the whole source: its length would make the chunk look truncated
            # and its MD5 would not match. Both are marked unknown; the length is written back in finish().
            self.out_stream.codec_context.extradata = _flac_streaminfo(
                template.codec_context.extradata or b"", total_samples=0
            )

    def write(self, packet: Packet[AudioStream], ticks: int, *, keep: bool) -> None:
        """Mux ``packet`` rebased to the cut's first packet; ``keep`` restores it for the next cut sharing it."""
        assert self.output is not None
        assert self.out_stream is not None
        if self.offset is None:
            # A cut from the very start keeps negative timestamps: they mark encoder priming, which the output
            # container then tells decoders to drop (an MP4 edit list), as the source did.
            self.offset = max(ticks, 0) if self.low == -math.inf else ticks
        # Muxing rescales the packet in place to the output's time base: a packet that the next cut shares is
        # restored afterwards. Only then, since reading its time base costs more than the rest of this method.
        saved = (packet.pts, packet.dts, packet.time_base, packet.stream) if keep else None
        pts, dts = packet.pts, packet.dts
        if pts is not None:
            packet.pts = pts - self.offset
        if dts is not None:
            packet.dts = dts - self.offset
        packet.stream = self.out_stream
        self.ticks += packet.duration or 0
        self.output.mux_one(packet)
        if saved is not None:
            packet.pts, packet.dts, packet.time_base, packet.stream = saved

    def finish(self) -> None:
        if self.output is None or self.out_stream is None:
            return
        flac_samples = None
        if _is_flac(self.out_stream):
            flac_samples = round(self.ticks * self.source_base * (self.out_stream.codec_context.sample_rate or 0))
        self.output.close()
        self.output = None
        if flac_samples is not None:
            _write_flac_total_samples(self.part, flac_samples)
        self.part.replace(self.dst)
        self.done = True


# STREAMINFO (https://xiph.org/flac/format.html#metadata_block_streaminfo): 34 bytes; the total sample count is
# the low 4 bits of byte 13 and bytes 14-17, the MD5 of the decoded audio bytes 18-33 (all zero: unknown).
FLAC_STREAMINFO_SIZE = 34
# A FLAC file opens with "fLaC" and the 4-byte header of its first metadata block, which is STREAMINFO.
FLAC_STREAMINFO_OFFSET = 8


def _is_flac(stream: AudioStream) -> bool:
    return stream.codec_context.name == "flac"


def _flac_streaminfo(streaminfo: bytes, *, total_samples: int) -> bytes:
    if len(streaminfo) < FLAC_STREAMINFO_SIZE:
        raise AudioError("The FLAC stream has no valid STREAMINFO block.")
    patched = bytearray(streaminfo[:FLAC_STREAMINFO_SIZE])
    patched[13] = (patched[13] & 0xF0) | ((total_samples >> 32) & 0x0F)
    patched[14:18] = (total_samples & 0xFFFFFFFF).to_bytes(4, "big")
    patched[18:34] = bytes(16)
    return bytes(patched)


def _write_flac_total_samples(path: Path, total_samples: int) -> None:
    with path.open("r+b") as file:
        header = file.read(FLAC_STREAMINFO_OFFSET + FLAC_STREAMINFO_SIZE)
        if len(header) < FLAC_STREAMINFO_OFFSET + FLAC_STREAMINFO_SIZE or header[:4] != b"fLaC" or header[4] & 0x7F:
            raise AudioError("The FLAC muxer wrote an unexpected header.")
        file.seek(FLAC_STREAMINFO_OFFSET)
        file.write(_flac_streaminfo(header[FLAC_STREAMINFO_OFFSET:], total_samples=total_samples))


def _discard_unfinished(cuts: Sequence[_Cut]) -> None:
    for cut in cuts:
        if cut.output is not None:
            with contextlib.suppress(av.error.FFmpegError):
                cut.output.close()
            cut.output = None
        if not cut.done:
            cut.part.unlink(missing_ok=True)


def _part_path(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.part")
