"""What a browser's MediaRecorder hands over, made from a real recording: a live WebM (no duration in its header,
no cues, a cluster every second) cut into timeslice-like parts; and a WAV for Chromium's fake microphone."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import av

from tests.conftest import AUDIO

CLUSTER_ID = b"\x1f\x43\xb6\x75"


class _Unseekable(io.RawIOBase):
    """A sink the muxer cannot seek back in, as a browser's recorder cannot: no duration, no cues."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, chunk: Any) -> int:
        self.data += bytes(chunk)
        return len(chunk)


def live_webm(source: Path = AUDIO / "dialogue_short.webm", *, cluster_ms: int = 1000) -> bytes:
    """``source``'s Opus audio remuxed as MediaRecorder writes it."""
    sink = _Unseekable()
    with av.open(str(source)) as reader:
        audio = reader.streams.audio[0]
        writer = av.open(sink, mode="w", format="webm", options={"live": "1", "cluster_time_limit": str(cluster_ms)})
        stream = writer.add_stream_from_template(audio)
        for packet in reader.demux(audio):
            if packet.dts is None:
                continue
            packet.stream = stream
            writer.mux(packet)
        writer.close()
    return bytes(sink.data)


def cluster_offsets(data: bytes) -> list[int]:
    offsets = []
    position = data.find(CLUSTER_ID)
    while position != -1:
        offsets.append(position)
        position = data.find(CLUSTER_ID, position + 1)
    return offsets


def parts_at_clusters(data: bytes, *, clusters_per_part: int = 5) -> list[bytes]:
    """Parts that start at cluster boundaries: the first holds the header and the first clusters."""
    starts = cluster_offsets(data)[clusters_per_part::clusters_per_part]
    bounds = [0, *starts, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def parts_by_size(data: bytes, size: int) -> list[bytes]:
    """Parts cut anywhere, even inside a block, as a recorder's buffer may be flushed."""
    return [data[start : start + size] for start in range(0, len(data), size)]


def seconds_of_prefix(data: bytes, end: int) -> float:
    """How much audio the first ``end`` bytes decode to."""
    with av.open(io.BytesIO(data[:end]), mode="r") as reader:
        audio = reader.streams.audio[0]
        last = 0
        try:
            for packet in reader.demux(audio):
                if packet.pts is not None:
                    last = max(last, packet.pts + (packet.duration or 0))
        except av.error.FFmpegError:
            pass
        return float(last * audio.time_base) if audio.time_base else 0.0


def wav_for_fake_microphone(target: Path, source: Path = AUDIO / "dialogue_short.webm") -> Path:
    """``source`` decoded to 16-bit mono 48 kHz WAV, which Chromium's fake capture device plays in a loop."""
    with av.open(str(source)) as reader, av.open(str(target), mode="w", format="wav") as writer:
        stream = writer.add_stream("pcm_s16le", rate=48000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for frame in reader.decode(audio=0):
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    writer.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                writer.mux(packet)
        for packet in stream.encode(None):
            writer.mux(packet)
    return target
