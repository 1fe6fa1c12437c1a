from __future__ import annotations

import bisect
import collections
import itertools
import math
import tempfile
from pathlib import Path

import av
import pytest

from jobs.audio.container import AudioError
from jobs.audio.plan import ChunkPlan, ProviderLimits, plan_chunks, provider_accepts
from jobs.audio.split import (
    OPUS_SAMPLE_RATE,
    audio_bytes_per_second,
    split_by_stream_copy,
    transcode_to_opus,
)
from sessions.media import probe
from tests.conftest import AUDIO
from tests.support.audio_checks import decode_all, first_packet_pts, longest_packet_seconds
from tests.support.long_recording import make_long_recording
from tests.support.synthetic_audio import write_wav

# Fixture, suffix of its stream-copied cuts, container name FFmpeg gives those cuts.
COPYABLE = [
    ("dialogue_short.webm", ".webm", "matroska,webm"),
    ("dialogue_short.mp3", ".mp3", "mp3"),
    ("dialogue_short.m4a", ".m4a", "mov,mp4,m4a,3gp,3g2,mj2"),
    ("jfk.flac", ".flac", "flac"),
    ("silence_10s.ogg", ".ogg", "ogg"),
    ("telehealth_clip.mp4", ".m4a", "mov,mp4,m4a,3gp,3g2,mj2"),
]
# Decoders trim encoder priming (a few ms) that stream copy keeps or drops with the first packet.
PRIMING = 0.01


def cut_by_stream_copy(src, dst, start, end):
    """The chunk ``[start, end)`` of ``src`` (``end=None``: to its last packet), cut as the pipeline cuts chunks:
    by one pass of ``split_by_stream_copy`` over neighbours that cover the rest of the file."""
    dst = Path(dst)
    chunks = []
    if start > 0:
        chunks.append(ChunkPlan(index=0, start=0.0, end=start))
    chunks.append(ChunkPlan(index=len(chunks), start=start, end=math.inf if end is None else end))
    if end is not None:
        chunks.append(ChunkPlan(index=len(chunks), start=end, end=end + 1e6))
    wanted = chunks[1] if start > 0 else chunks[0]
    with tempfile.TemporaryDirectory() as scratch:
        paths = split_by_stream_copy(
            src, chunks, lambda chunk: dst if chunk is wanted else Path(scratch) / f"{chunk.index}{dst.suffix}"
        )
    return paths[chunks.index(wanted)]


def packet_payloads(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [(packet.pts, bytes(packet)) for packet in container.demux(stream) if packet.size]


@pytest.mark.parametrize(("name", "suffix", "container"), COPYABLE)
def test_a_stream_copy_cut_decodes_to_the_planned_length_within_a_packet(tmp_path, name, suffix, container):
    src = AUDIO / name
    cut = cut_by_stream_copy(src, tmp_path / f"cut{suffix}", 3.0, 8.5)
    decoded = decode_all(cut)
    assert decoded.container == container
    assert decoded.seconds == pytest.approx(5.5, abs=longest_packet_seconds(src) + PRIMING)


@pytest.mark.parametrize(("name", "suffix", "container"), COPYABLE)
def test_a_cut_from_start_to_end_keeps_the_whole_recording(tmp_path, name, suffix, container):
    src = AUDIO / name
    cut = cut_by_stream_copy(src, tmp_path / f"whole{suffix}", 0.0, None)
    assert decode_all(cut).seconds == pytest.approx(decode_all(src).seconds, abs=PRIMING)


# FLAC frames carry their own sample numbers, which stream copy cannot renumber without rewriting every frame;
# decoders ignore them.
@pytest.mark.parametrize(("name", "suffix", "container"), [fmt for fmt in COPYABLE if fmt[1] != ".flac"])
def test_a_cut_keeps_codec_rate_and_channels_and_is_rebased_to_zero(tmp_path, name, suffix, container):
    src = AUDIO / name
    cut = cut_by_stream_copy(src, tmp_path / f"cut{suffix}", 4.0, 9.0)
    original, copied = decode_all(src), decode_all(cut)
    assert (copied.codec, copied.sample_rate, copied.channels) == (
        original.codec,
        original.sample_rate,
        original.channels,
    )
    assert first_packet_pts(cut) == 0


def test_the_audio_track_of_a_video_is_cut_into_an_m4a_without_the_video(tmp_path):
    src = AUDIO / "telehealth_clip.mp4"
    assert decode_all(src).has_video
    cut = cut_by_stream_copy(src, tmp_path / "audio.m4a", 0.0, None)
    assert not decode_all(cut).has_video
    info = probe(cut)
    assert info.content_type == "audio/mp4"
    assert provider_accepts(info.container, info.codec)


def test_splitting_in_one_pass_gives_each_chunk_exactly_the_source_packets_of_its_range(tmp_path):
    src = AUDIO / "dialogue_short.webm"
    duration = probe(src).duration_seconds
    chunks = plan_chunks(
        duration,
        bytes_per_second=1.0,
        limits=ProviderLimits(max_bytes=10**9, max_seconds=50.0, safety_margin=0),
        overlap_seconds=5.0,
    )
    assert len(chunks) == 3
    paths = split_by_stream_copy(src, chunks, lambda chunk: tmp_path / f"chunk-{chunk.index}.webm")
    assert [path.name for path in paths] == ["chunk-0.webm", "chunk-1.webm", "chunk-2.webm"]

    source = packet_payloads(src)
    time_base = 1 / 1000  # Matroska's
    covered: collections.Counter[int] = collections.Counter()
    for chunk, path in zip(chunks, paths, strict=True):
        copied = packet_payloads(path)
        first = (
            0 if chunk.index == 0 else next(i for i, (pts, _) in enumerate(source) if pts * time_base >= chunk.start)
        )
        originals = source[first : first + len(copied)]
        assert [payload for _, payload in copied] == [payload for _, payload in originals]
        # Same spacing, the packets shared with a neighbour included; later chunks rebased to start at 0.
        assert [pts - copied[0][0] for pts, _ in copied] == [pts - originals[0][0] for pts, _ in originals]
        if chunk.index > 0:
            assert copied[0][0] == 0
        payloads = copied
        covered.update(range(first, first + len(payloads)))
        assert decode_all(path).seconds == pytest.approx(chunk.duration, abs=longest_packet_seconds(src) + PRIMING)
    # Every source packet is in some chunk; only those in the two overlaps are in two.
    assert set(covered) == set(range(len(source)))
    doubled = [i for i, count in covered.items() if count == 2]
    assert 2 * 5.0 * 0.9 < len(doubled) * longest_packet_seconds(src) < 2 * 5.0 * 1.1
    assert max(covered.values()) == 2


def test_a_cut_named_for_another_container_kind_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"\.webm"):
        cut_by_stream_copy(AUDIO / "dialogue_short.webm", tmp_path / "cut.ogg", 0.0, 5.0)
    assert list(tmp_path.iterdir()) == []


def test_audio_the_provider_does_not_take_is_not_stream_copied(tmp_path):
    wav = write_wav(tmp_path / "tone.wav", [(1.0, -20.0)])
    with pytest.raises(AudioError, match="stream copy"):
        cut_by_stream_copy(wav, tmp_path / "cut.wav", 0.0, None)


def test_a_cut_beyond_the_end_fails_and_leaves_no_partial_file(tmp_path):
    src = AUDIO / "dialogue_short.webm"
    chunks = [ChunkPlan(index=0, start=0.0, end=100.0), ChunkPlan(index=1, start=500.0, end=600.0)]
    with pytest.raises(AudioError, match=r"chunk\(s\) \[1\]"):
        split_by_stream_copy(src, chunks, lambda chunk: tmp_path / f"chunk-{chunk.index}.webm")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chunk-0.webm"]


def test_a_flac_cut_declares_its_own_length_not_the_sources(tmp_path):
    cut = cut_by_stream_copy(AUDIO / "jfk.flac", tmp_path / "cut.flac", 0.0, 5.0)
    header = cut.read_bytes()[8:42]
    total_samples = ((header[13] & 0x0F) << 32) | int.from_bytes(header[14:18], "big")
    decoded = decode_all(cut)
    assert total_samples == round(decoded.seconds * decoded.sample_rate)
    assert header[18:34] == bytes(16)  # the source's MD5 would not match: marked unknown
    # A STREAMINFO still claiming the whole recording made the cut look truncated.
    assert probe(cut).duration_seconds == pytest.approx(decoded.seconds, abs=0.01)


def test_transcoding_gives_16_khz_mono_opus_in_ogg_at_a_speech_bit_rate(tmp_path):
    out = transcode_to_opus(AUDIO / "jfk.flac", tmp_path / "speech.ogg")
    decoded = decode_all(out)
    assert (decoded.container, decoded.codec, decoded.channels) == ("ogg", "opus", 1)
    with av.open(str(out)) as container:
        opus_head = container.streams.audio[0].codec_context.extradata
    assert opus_head is not None
    # Opus always decodes at 48 kHz; the rate it was encoded from is in its header.
    assert int.from_bytes(opus_head[12:16], "little") == OPUS_SAMPLE_RATE
    assert decoded.seconds == pytest.approx(11.0, abs=0.07)
    assert 16_000 < out.stat().st_size * 8 / decoded.seconds < 40_000


def test_an_odd_wav_codec_is_transcoded_into_something_the_provider_takes(tmp_path):
    wav = write_wav(tmp_path / "mulaw.wav", [(3.0, -12.0)], rate=8_000, codec="pcm_mulaw")
    info = probe(wav)
    assert not provider_accepts(info.container, info.codec)
    out = transcode_to_opus(wav, tmp_path / "speech.ogg")
    transcoded = probe(out)
    assert provider_accepts(transcoded.container, transcoded.codec)
    assert transcoded.duration_seconds == pytest.approx(3.0, abs=0.07)


def test_a_stretch_is_transcoded_to_the_nearest_frame_and_starts_at_zero(tmp_path):
    out = transcode_to_opus(AUDIO / "telehealth_clip.mp4", tmp_path / "stretch.ogg", 2.0, 7.5)
    assert decode_all(out).seconds == pytest.approx(5.5, abs=0.1)
    assert first_packet_pts(out) == 0


def test_a_failed_transcode_leaves_no_partial_file(tmp_path):
    with pytest.raises(AudioError):
        transcode_to_opus(AUDIO / "bad_not_audio.webm", tmp_path / "speech.ogg")
    assert list(tmp_path.iterdir()) == []


def test_the_byte_rate_of_an_audio_file_includes_its_container_framing():
    src = AUDIO / "dialogue_short.mp3"
    mean = src.stat().st_size / probe(src).duration_seconds
    assert audio_bytes_per_second(src, window_seconds=1_000) == pytest.approx(mean, rel=0.01)


def test_the_byte_rate_of_a_video_counts_its_audio_only():
    src = AUDIO / "telehealth_clip.mp4"
    audio_bytes = sum(len(payload) for _, payload in packet_payloads(src))
    rate = audio_bytes_per_second(src, window_seconds=1_000)
    assert rate == pytest.approx(audio_bytes / decode_all(src).seconds, rel=0.01)
    assert rate < 0.8 * src.stat().st_size / 11.0


def test_the_byte_rate_is_that_of_the_densest_window_of_a_vbr_recording():
    src = AUDIO / "dialogue_short.webm"
    window = 5.0
    packets = [(pts / 1000, len(payload)) for pts, payload in packet_payloads(src)]
    starts = [start for start, _ in packets]
    running = list(itertools.accumulate((size for _, size in packets), initial=0))
    # Bytes of the packets starting within the window that ends where each packet ends (20 ms after its start).
    densest = max(
        running[i + 1] - running[bisect.bisect_left(starts, start + 0.02 - window)]
        for i, (start, _) in enumerate(packets)
    )
    framing = src.stat().st_size / running[-1]
    peak = audio_bytes_per_second(src, window_seconds=window)
    assert peak == pytest.approx(framing * densest / window, rel=0.02)
    assert peak > audio_bytes_per_second(src, window_seconds=1_000)


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ten")
    return {
        suffix: make_long_recording(AUDIO / name, folder / f"long{suffix}", 10)
        for name, suffix in [
            ("dialogue_short.webm", ".webm"),
            ("dialogue_short.mp3", ".mp3"),
            ("dialogue_short.m4a", ".m4a"),
            ("silence_10s.ogg", ".ogg"),
        ]
    }


def packets_starting_within(path, start, end):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.time_base is not None
        return [
            bytes(packet)
            for packet in container.demux(stream)
            if packet.size and packet.pts is not None and start <= packet.pts * stream.time_base < end
        ]


@pytest.mark.parametrize("suffix", [".webm", ".mp3", ".m4a", ".ogg"])
def test_a_cut_deep_into_a_file_takes_exactly_the_packets_of_its_range(tmp_path, ten_minutes, suffix):
    src = ten_minutes[suffix]
    cut = cut_by_stream_copy(src, tmp_path / f"cut{suffix}", 301.0, 317.5)
    assert [payload for _, payload in packet_payloads(cut)] == packets_starting_within(src, 301.0, 317.5)
