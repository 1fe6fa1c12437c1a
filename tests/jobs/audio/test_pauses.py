"""Seams in pauses: the quietest moment near a planned cut, found by decoding a few seconds around it only."""

from __future__ import annotations

import pytest

from jobs.audio.container import open_audio
from jobs.audio.pauses import quietest_point
from jobs.audio.plan import GPT4O_TRANSCRIBE_LIMITS, plan_chunks, seam_centre
from jobs.audio.split import stream_copy_as_cut, transcode_to_opus
from tests.support.audio_checks import demuxed_seconds
from tests.support.synthetic_audio import write_wav

SPEECH = -12.0  # dBFS of the tone standing in for talk


def _quietest(path, centre, radius):
    with open_audio(path) as (container, stream):
        return quietest_point(container, stream, centre=centre, radius=radius)


@pytest.fixture
def talk_with_a_pause(tmp_path):
    """40 s of tone with a second of digital silence from 17.0 s and a quieter stretch from 30.0 to 31.0 s."""
    return write_wav(
        tmp_path / "talk.wav",
        [(17.0, SPEECH), (1.0, None), (12.0, SPEECH), (1.0, -40.0), (9.0, SPEECH)],
    )


def test_a_seam_moves_into_the_pause_within_its_window(talk_with_a_pause):
    assert _quietest(talk_with_a_pause, centre=20.0, radius=5.0) == pytest.approx(17.5, abs=0.1)


def test_a_quieter_stretch_is_preferred_when_there_is_no_silence(talk_with_a_pause):
    assert _quietest(talk_with_a_pause, centre=28.0, radius=5.0) == pytest.approx(30.5, abs=0.1)


def test_a_seam_stays_within_its_window_when_the_pause_is_beyond_it(talk_with_a_pause):
    placed = _quietest(talk_with_a_pause, centre=24.0, radius=3.0)
    assert 21.0 <= placed <= 27.0


def test_a_window_too_small_to_search_leaves_the_seam_where_it_was(talk_with_a_pause):
    assert _quietest(talk_with_a_pause, centre=20.0, radius=0.2) == 20.0


def test_in_silence_throughout_the_seam_stays_nearest_its_planned_place(tmp_path):
    silent = write_wav(tmp_path / "silent.wav", [(20.0, None)])
    assert _quietest(silent, centre=10.0, radius=5.0) == pytest.approx(10.0, abs=0.05)


def test_pauses_are_found_in_lossy_audio_too(tmp_path, talk_with_a_pause):
    opus = transcode_to_opus(talk_with_a_pause, tmp_path / "talk.ogg")
    assert _quietest(opus, centre=20.0, radius=5.0) == pytest.approx(17.5, abs=0.15)


def test_the_cut_places_each_seam_only_as_it_comes_to_it_and_hands_each_chunk_over_at_once(tmp_path):
    """Pauses at 28.0-28.8 s and 62.2-63.0 s, seams planned at 30.8 s and 59.2 s: each seam is found in its pause,
    decided only once the chunks before it were handed over, and every chunk covers what it says."""
    wav = write_wav(
        tmp_path / "talk.wav",
        [(28.0, SPEECH), (0.8, None), (33.4, SPEECH), (0.8, None), (27.0, SPEECH)],
    )
    source = transcode_to_opus(wav, tmp_path / "talk.ogg")
    duration = demuxed_seconds(source)
    chunks = plan_chunks(
        duration,
        bytes_per_second=4_000,
        limits=GPT4O_TRANSCRIBE_LIMITS,
        overlap_seconds=5.0,
        concurrency=3,
        min_chunk_seconds=20,
    )
    assert len(chunks) == 3
    events: list[str] = []

    with open_audio(source) as (container, stream):

        def place(index: int) -> float:
            events.append(f"seam {index}")
            centre = seam_centre(chunks[index], chunks[index + 1])
            return quietest_point(container, stream, centre=centre, radius=5.0)

        cut = []
        for chunk, path in stream_copy_as_cut(
            source,
            chunks,
            lambda chunk: tmp_path / f"chunk-{chunk.index}.ogg",
            place_seam=place,
            seam_reach=5.0,
            overlap_seconds=5.0,
        ):
            events.append(f"chunk {chunk.index}")
            cut.append((chunk, path))

    assert events == ["seam 0", "chunk 0", "seam 1", "chunk 1", "chunk 2"]
    first, second, third = (chunk for chunk, _ in cut)
    assert seam_centre(first, second) == pytest.approx(28.4, abs=0.15)
    assert seam_centre(second, third) == pytest.approx(62.6, abs=0.15)
    assert first.start == 0.0
    assert third.end == chunks[-1].end
    for chunk, path in cut:
        assert demuxed_seconds(path) == pytest.approx(chunk.duration, abs=0.07)
