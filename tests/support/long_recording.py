"""Long recordings made from short fixtures, for tests and benchmarks of the audio pipeline.

The source's packets are repeated by stream copy (no decoding, no encoding), so two hours take seconds and the
result is a well-formed file of the same container kind, with an index where the container keeps one.
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from jobs.audio.plan import stream_copy_target


def make_long_recording(src: Path, dst: Path, minutes: int) -> Path:
    """Loop ``src``'s audio into ``dst`` until it lasts ``minutes`` minutes (cut at a packet boundary)."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    with av.open(os.fspath(src)) as source:
        stream = source.streams.audio[0]
        codec = stream.codec_context.codec
        codec_name = codec.canonical_name or codec.name
        target = stream_copy_target(source.format.name, codec_name)
        # FLAC frames number themselves: looped, the numbers (and so the timestamps a demuxer reads) would repeat.
        if target is None or codec_name == "flac":
            raise ValueError(f"{src.name} cannot be looped by stream copy")
        time_base = stream.time_base
        assert time_base is not None
        packets = [
            (packet.pts, packet.dts, packet.duration or 0, bytes(packet), packet.is_keyframe)
            for packet in source.demux(stream)
            if packet.size and packet.pts is not None
        ]
        first_pts = packets[0][0]
        last_pts, _, last_duration, _, _ = packets[-1]
        assert first_pts is not None
        assert last_pts is not None
        loop_length = last_pts + last_duration - first_pts
        total = int(minutes * 60 / time_base)
        with av.open(os.fspath(dst), mode="w", format=target.muxer) as output:
            out_stream = output.add_stream_from_template(stream)
            offset = -first_pts
            while offset + first_pts < total:
                for pts, dts, duration, payload, keyframe in packets:
                    assert pts is not None
                    if pts + offset >= total:
                        break
                    packet = av.Packet(payload)
                    packet.time_base = time_base
                    packet.pts = pts + offset
                    packet.dts = (dts if dts is not None else pts) + offset
                    packet.duration = duration
                    packet.is_keyframe = keyframe
                    packet.stream = out_stream
                    output.mux(packet)
                offset += loop_length
    return dst
