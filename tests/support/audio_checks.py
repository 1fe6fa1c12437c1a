"""Measurements of audio files for assertions: what a decoder and a demuxer make of them."""

from __future__ import annotations

import os
from dataclasses import dataclass

import av


@dataclass(frozen=True)
class Decoded:
    container: str
    codec: str
    seconds: float
    sample_rate: int
    channels: int
    has_video: bool


def decode_all(path: str | os.PathLike[str]) -> Decoded:
    """Decode every frame of the first audio stream: the duration a listener (or the provider) gets."""
    samples = 0
    rate = 0
    with av.open(os.fspath(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            samples += frame.samples
            rate = frame.sample_rate
        return Decoded(
            container=container.format.name,
            codec=stream.codec_context.name,
            seconds=samples / rate if rate else 0.0,
            sample_rate=rate,
            channels=stream.codec_context.channels,
            has_video=bool(container.streams.video),
        )


def demuxed_seconds(path: str | os.PathLike[str]) -> float:
    """From the first packet's start to the last packet's end, without decoding."""
    first: int | None = None
    end = 0
    with av.open(os.fspath(path)) as container:
        stream = container.streams.audio[0]
        assert stream.time_base is not None
        for packet in container.demux(stream):
            if not packet.size or packet.pts is None:
                continue
            first = packet.pts if first is None else first
            end = max(end, packet.pts + (packet.duration or 0))
        assert first is not None
        return float((end - first) * stream.time_base)


def longest_packet_seconds(path: str | os.PathLike[str]) -> float:
    """The coarsest step a stream-copy cut of this file can take."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.audio[0]
        assert stream.time_base is not None
        longest = max((packet.duration or 0) for packet in container.demux(stream) if packet.size)
        return float(longest * stream.time_base)


def first_packet_pts(path: str | os.PathLike[str]) -> int | None:
    with av.open(os.fspath(path)) as container:
        stream = container.streams.audio[0]
        return next(packet.pts for packet in container.demux(stream) if packet.size)
