"""Two hours of browser-recorded Opus, end to end through planning and stream-copy cutting.

Each pass over two hours of 20 ms packets costs a second or two, so chunks are checked by decoding their two ends
(their true start and end times) rather than by reading them whole.
"""

from __future__ import annotations

import av
import pytest

from jobs.audio.plan import limits_for_model, plan_chunks
from jobs.audio.split import audio_bytes_per_second, split_by_stream_copy
from tests.conftest import AUDIO
from tests.support.audio_checks import demuxed_seconds, longest_packet_seconds
from tests.support.long_recording import make_long_recording

TWO_HOURS = 7200.0
SOURCE = AUDIO / "dialogue_short.webm"


@pytest.fixture(scope="module")
def two_hours(tmp_path_factory):
    return make_long_recording(SOURCE, tmp_path_factory.mktemp("long") / "long.webm", 120)


@pytest.fixture(scope="module")
def byte_rate(two_hours):
    return audio_bytes_per_second(two_hours)


@pytest.fixture(scope="module")
def packet():
    """The longest packet of the looped source, so of the long recording too: the precision of a cut."""
    return longest_packet_seconds(SOURCE)


def decoded_span(path, tail=2.0):
    """Seconds from the first decoded sample to the last, decoding only the first frame and the last ``tail``."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        first = next(container.decode(stream))
        assert container.duration is not None
        container.seek(container.duration - int(tail * av.time_base), any_frame=False)
        *_, last = container.decode(stream)
    assert first.time is not None
    assert last.time is not None
    return last.time + last.samples / last.sample_rate - first.time


@pytest.mark.slow
def test_a_long_recording_lasts_the_minutes_asked_for(two_hours, packet):
    assert decoded_span(two_hours) == pytest.approx(TWO_HOURS, abs=packet)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "whisper-1"])
def test_two_hours_are_planned_within_the_limits_and_every_chunk_is_cut_to_plan(
    tmp_path, two_hours, byte_rate, packet, model
):
    limits = limits_for_model(model)
    chunks = plan_chunks(TWO_HOURS, bytes_per_second=byte_rate, limits=limits, overlap_seconds=5.0)
    assert len(chunks) > 1
    paths = split_by_stream_copy(two_hours, chunks, lambda chunk: tmp_path / f"chunk-{chunk.index}.webm")

    for chunk, path in zip(chunks, paths, strict=True):
        assert path.stat().st_size <= limits.usable_bytes
        seconds = decoded_span(path)
        assert seconds == pytest.approx(chunk.duration, abs=packet)
        if limits.max_seconds is not None:
            assert seconds <= limits.max_seconds


@pytest.mark.parametrize("name", ["dialogue_short.mp3", "dialogue_short.m4a", "silence_10s.ogg"])
def test_recordings_of_other_kinds_loop_to_length_too(tmp_path, name):
    src = AUDIO / name
    looped = make_long_recording(src, tmp_path / f"looped{src.suffix}", 3)
    assert demuxed_seconds(looped) == pytest.approx(180.0, abs=longest_packet_seconds(src))


def test_flac_is_not_looped_since_its_frames_number_themselves(tmp_path):
    with pytest.raises(ValueError, match="cannot be looped"):
        make_long_recording(AUDIO / "jfk.flac", tmp_path / "looped.flac", 1)
