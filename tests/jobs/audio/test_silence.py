from __future__ import annotations

import math

import pytest

from jobs.audio import silence
from jobs.audio.container import decode_range
from jobs.audio.silence import DIGITAL_SILENCE_DBFS, is_digital_silence, peak_dbfs
from tests.conftest import AUDIO
from tests.support.synthetic_audio import write_wav


def test_a_recording_of_digital_silence_is_silence():
    assert peak_dbfs(AUDIO / "silence_10s.ogg") < DIGITAL_SILENCE_DBFS
    assert is_digital_silence(AUDIO / "silence_10s.ogg")


def test_speech_is_not_silence():
    assert peak_dbfs(AUDIO / "jfk.flac") > -20
    assert not is_digital_silence(AUDIO / "jfk.flac")


@pytest.mark.parametrize(
    ("level_dbfs", "silent"),
    [(None, True), (-90.0, True), (-66.0, True), (-54.0, False), (-30.0, False)],
)
def test_silence_is_judged_by_the_peak_against_minus_60_dbfs(tmp_path, level_dbfs, silent):
    wav = write_wav(tmp_path / "tone.wav", [(2.0, level_dbfs)], channels=2)
    assert is_digital_silence(wav) is silent


def test_all_zero_samples_peak_at_minus_infinity(tmp_path):
    wav = write_wav(tmp_path / "zeros.wav", [(1.0, None)])
    assert peak_dbfs(wav) == -math.inf


def test_the_threshold_can_be_set(tmp_path):
    wav = write_wav(tmp_path / "hum.wav", [(1.0, -50.0)])
    assert not is_digital_silence(wav)
    assert is_digital_silence(wav, threshold_dbfs=-40.0)


def test_a_stretch_is_judged_on_its_own(tmp_path):
    wav = write_wav(tmp_path / "late.wav", [(4.0, None), (2.0, -20.0)])
    assert is_digital_silence(wav, start=0.5, end=3.5)
    assert not is_digital_silence(wav, start=3.0, end=6.0)
    assert not is_digital_silence(wav)


def test_a_single_loud_moment_in_a_silent_chunk_counts_as_sound(tmp_path):
    wav = write_wav(tmp_path / "click.wav", [(3.0, None), (0.05, -10.0), (3.0, None)])
    assert not is_digital_silence(wav)


def test_sound_is_recognised_at_its_first_loud_frame_without_decoding_the_rest(monkeypatch):
    decoded = 0

    def counting(*args, **kwargs):
        nonlocal decoded
        for frame in silence_decode_range(*args, **kwargs):
            decoded += frame.samples
            yield frame

    silence_decode_range = decode_range
    monkeypatch.setattr(silence, "decode_range", counting)
    assert not is_digital_silence(AUDIO / "dialogue_short.webm")
    assert decoded < 48_000  # under a second of the 132
    # Silence, by contrast, is proven only by its last sample.
    decoded = 0
    assert is_digital_silence(AUDIO / "silence_10s.ogg")
    assert decoded >= 48_000 * 9.9
