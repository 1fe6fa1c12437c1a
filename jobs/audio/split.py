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
import dataclasses
import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
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
from sessions.media import BYTE_RATE_WINDOW_SECONDS, ByteRateMeter

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


def audio_bytes_per_second(src: str | os.PathLike[str], *, window_seconds: float = BYTE_RATE_WINDOW_SECONDS) -> float:
    """Peak byte rate of the audio over any ``window_seconds``, container framing included, for planning by size
    (``sessions.media.ByteRateMeter``).

    The upload's probe records this on the recording; this pass is for the recordings stored before it did, and
    for a transcoded copy. Only packets are read (no decoding): a pass at disk speed. The audio stream alone is
    measured: the video of a telehealth recording is not sent.
    """
    with open_audio(src) as (container, stream):
        meter = ByteRateMeter(time_base(stream), window_seconds)
        for packet in container.demux(stream):
            ticks = packet.pts if packet.pts is not None else packet.dts
            if not packet.size or ticks is None:
                continue
            meter.add(ticks, packet.size, ticks + (packet.duration or 0))
        has_video = bool(container.streams.video)
    peak = meter.peak_bytes_per_second(file_bytes=None if has_video else Path(src).stat().st_size)
    if peak is None:
        raise AudioError("The audio stream has no packets.")
    return peak


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
    cut = {chunk.index: path for chunk, path in stream_copy_as_cut(src, chunks, destination)}
    return [cut[chunk.index] for chunk in sorted(chunks, key=lambda chunk: chunk.start)]


SeamPlacer = Callable[[int], float]


def stream_copy_as_cut(
    src: str | os.PathLike[str],
    chunks: Sequence[ChunkPlan],
    destination: Callable[[ChunkPlan], str | os.PathLike[str]],
    *,
    place_seam: SeamPlacer | None = None,
    seam_reach: float = 0.0,
    overlap_seconds: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[ChunkPlan, Path]]:
    """``split_by_stream_copy`` that hands over each chunk, with the bounds it was cut to, as soon as its file is
    complete: the first one while the pass is still reading the rest of the file.

    With ``place_seam``, the seam between chunks ``i`` and ``i + 1`` (equal neighbours overlapping by
    ``overlap_seconds``, from ``plan.plan_chunks``) is decided only as the pass comes within ``seam_reach`` of it:
    ``place_seam(i)`` returns where the middle of their overlap goes, at most ``seam_reach`` seconds from where it
    was planned (``plan.move_seams``), so finding it costs a look at that stretch only, while the pass goes on.
    ``stop`` is asked every few thousand packets; when it answers true, the pass ends with the chunks it finished.
    """
    if not chunks:
        return
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
        seams = []
        if place_seam is not None:
            seams = [
                _Seam(before, after, place=place_seam, base=base, reach=seam_reach, overlap=overlap_seconds)
                for before, after in itertools.pairwise(cuts)
            ]
        cleanup.callback(_discard_unfinished, cuts)
        try:
            for cut in _copy_packets(container, stream, target, cuts, seams, stop):
                yield cut.chunk, cut.dst
        except av.error.FFmpegError as error:
            raise AudioError(f"Stream copy of {codec} audio failed ({error.strerror}).") from None
        if stop is not None and stop():
            return
    empty = [cut.chunk.index for cut in cuts if not cut.done]
    if empty:
        raise AudioError(f"No audio packets fall within chunk(s) {empty}.")


def _ticks(seconds: float, base: Fraction) -> float:
    """The first tick at or after ``seconds``; infinities stay infinite."""
    return seconds if math.isinf(seconds) else math.ceil(Fraction(seconds) / base)


# How often the pass asks whether to stop: a few milliseconds of packets.
STOP_CHECK_PACKETS = 4096


def _copy_packets(
    container: InputContainer,
    stream: AudioStream,
    target: CopyTarget,
    cuts: Sequence[_Cut],
    seams: Sequence[_Seam],
    stop: Callable[[], bool] | None,
) -> Iterator[_Cut]:
    """The one loop that sees every packet of a long file: kept to integer comparisons and attribute access.

    Yields each cut once its file is complete."""
    for seam in seams:
        seam.hold()
    unplaced = collections.deque(seams)
    next_seam = unplaced[0].trigger if unplaced else math.inf
    pending = collections.deque(cuts)
    active: list[_Cut] = []
    next_low = pending[0].low
    next_high: float = math.inf
    countdown = STOP_CHECK_PACKETS
    for packet in container.demux(stream):
        # The demuxer ends with an empty packet per stream, a flush signal for decoders, not data.
        if not packet.size:
            continue
        ticks = packet.pts if packet.pts is not None else packet.dts
        if ticks is None:
            continue
        if stop is not None:
            countdown -= 1
            if not countdown:
                countdown = STOP_CHECK_PACKETS
                if stop():
                    return
        if ticks >= next_seam:
            while unplaced and ticks >= unplaced[0].trigger:
                unplaced.popleft().settle()
            next_seam = unplaced[0].trigger if unplaced else math.inf
            next_low = pending[0].low if pending else math.inf
            next_high = min((cut.high for cut in active), default=math.inf)
        if ticks >= next_high:
            for cut in [cut for cut in active if ticks >= cut.high]:
                cut.finish()
                active.remove(cut)
                yield cut
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
        yield cut


@dataclass
class _Seam:
    """Where two neighbouring cuts meet, decided once the pass is about to reach the earliest place it may be."""

    before: _Cut
    after: _Cut
    place: SeamPlacer
    base: Fraction
    reach: float
    overlap: float
    # The tick from which the later cut may start: the seam must be placed before the pass gets there.
    trigger: float = math.inf

    def hold(self) -> None:
        """Keep both cuts open-ended until the seam is placed: the earlier one does not end, the later one does
        not start."""
        planned = (self.before.chunk.end + self.after.chunk.start) / 2
        # A millisecond of slack: the placed bounds are rounded to it.
        self.trigger = _ticks(max(planned - self.reach - self.overlap / 2 - 0.002, 0.0), self.base)
        self.before.high = math.inf
        self.after.low = math.inf

    def settle(self) -> None:
        centre = self.place(self.before.chunk.index)
        half = self.overlap / 2
        self.before.chunk = dataclasses.replace(self.before.chunk, end=round(centre + half, 3))
        self.after.chunk = dataclasses.replace(self.after.chunk, start=max(round(centre - half, 3), 0.0))
        self.before.high = _ticks(self.before.chunk.end, self.base)
        self.after.low = _ticks(self.after.chunk.start, self.base)


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
