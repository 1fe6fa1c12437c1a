from __future__ import annotations

import pytest

from jobs.audio.split import audio_bytes_per_second, transcode_to_opus
from sessions.media import MediaRejected, format_duration, probe
from tests.conftest import AUDIO
from tests.support.synthetic_audio import write_wav


@pytest.mark.parametrize(
    ("name", "codec", "duration"),
    [
        ("dialogue_short.webm", "opus", 132.0),
        ("dialogue_short.mp3", "mp3", 132.0),
        ("dialogue_short.m4a", "aac", 132.0),
        ("jfk.flac", "flac", 11.0),
        ("telehealth_clip.mp4", "aac", 11.0),
        ("silence_10s.ogg", "opus", 10.0),
    ],
)
def test_probe_reads_codec_and_decoded_duration(name, codec, duration):
    info = probe(AUDIO / name)
    assert info.codec == codec
    assert info.duration_seconds == pytest.approx(duration, abs=0.1)


@pytest.mark.parametrize(
    "name",
    ["dialogue_short.webm", "dialogue_short.mp3", "dialogue_short.m4a", "jfk.flac", "telehealth_clip.mp4"],
)
def test_probe_measures_the_peak_byte_rate_the_pipeline_plans_by(name):
    info = probe(AUDIO / name)
    assert info.peak_bytes_per_second == pytest.approx(audio_bytes_per_second(AUDIO / name), rel=1e-9)


def test_the_peak_byte_rate_is_that_of_the_densest_minute(tmp_path):
    """Two minutes of silence then one of tone: the peak is the tone's rate, well above the mean."""
    loud_last = transcode_to_opus(
        write_wav(tmp_path / "quiet_then_loud.wav", [(120.0, None), (60.0, -12.0)]), tmp_path / "quiet_then_loud.ogg"
    )
    info = probe(loud_last)
    assert info.peak_bytes_per_second is not None
    mean = loud_last.stat().st_size / info.duration_seconds
    assert info.peak_bytes_per_second > 1.5 * mean


def test_probe_accepts_the_audio_track_of_a_video():
    info = probe(AUDIO / "telehealth_clip.mp4")
    assert info.has_video
    # The container says 16 s (the video); the audio track, which is what we transcribe, is 11 s.
    assert info.duration_seconds == pytest.approx(11.0, abs=0.1)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("bad_empty.webm", "empty_file"),
        ("bad_not_audio.webm", "not_audio"),
        ("bad_truncated.webm", "truncated"),
    ],
)
def test_probe_refuses_each_bad_file_with_its_own_reason(name, code):
    with pytest.raises(MediaRejected) as rejected:
        probe(AUDIO / name)
    assert rejected.value.code == code


def test_truncated_message_says_where_the_audio_stops():
    with pytest.raises(MediaRejected) as rejected:
        probe(AUDIO / "bad_truncated.webm")
    assert "0:52" in rejected.value.message
    assert "2:12" in rejected.value.message


def test_probe_refuses_a_recording_longer_than_the_limit():
    with pytest.raises(MediaRejected) as rejected:
        probe(AUDIO / "jfk.flac", max_seconds=5)
    assert rejected.value.code == "too_long"


def test_probe_refuses_a_file_with_no_audio_track(tmp_path):
    import av

    path = tmp_path / "video_only.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        for _ in range(5):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(MediaRejected) as rejected:
        probe(path)
    assert rejected.value.code == "no_audio_track"


def test_probe_refuses_random_bytes_with_an_audio_extension(tmp_path):
    path = tmp_path / "noise.mp3"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(MediaRejected) as rejected:
        probe(path)
    assert rejected.value.code in {"not_audio", "corrupt", "no_audio"}


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.6, "1:00"), (132, "2:12"), (3725, "1:02:05")])
def test_durations_are_formatted_for_people(seconds, text):
    assert format_duration(seconds) == text


def _wav_with_format_tag(path, tag: int):
    import struct

    data = bytes(1600)
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_probe_refuses_a_wav_in_a_codec_nobody_knows(tmp_path):
    with pytest.raises(MediaRejected) as rejected:
        probe(_wav_with_format_tag(tmp_path / "odd.wav", 0x1234))
    assert rejected.value.code in {"unsupported_codec", "not_audio"}
