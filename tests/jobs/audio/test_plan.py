from __future__ import annotations

import itertools
import math
import random

import pytest

from jobs.audio.plan import (
    GPT4O_TRANSCRIBE_LIMITS,
    OPENAI_MAX_UPLOAD_BYTES,
    UNKNOWN_MODEL_LIMITS,
    WHISPER_LIMITS,
    ChunkPlan,
    ProviderLimits,
    limits_for_model,
    max_chunk_seconds,
    move_seams,
    plan_chunks,
    provider_accepts,
    seam_centre,
    seam_room,
    stream_copy_target,
)
from sessions.media import probe
from tests.conftest import AUDIO

EPSILON = 1e-6


def assert_valid_plan(
    chunks: list[ChunkPlan], duration: float, *, bytes_per_second: float, limits: ProviderLimits, overlap: float
) -> None:
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert chunks[0].start == 0.0
    assert chunks[-1].end == duration
    for chunk in chunks:
        assert chunk.end > chunk.start
        assert chunk.duration * bytes_per_second <= limits.usable_bytes * (1 + EPSILON)
        if limits.usable_seconds is not None:
            assert chunk.duration <= limits.usable_seconds + EPSILON
    for before, after in itertools.pairwise(chunks):
        # No gap, and the overlap asked for.
        assert after.start == pytest.approx(before.end - overlap, abs=EPSILON)
    for before, after in zip(chunks, chunks[2:], strict=False):
        # Only neighbours overlap, so each seam is between two chunks.
        assert after.start >= before.end


def test_openai_limits_carry_a_safety_margin_below_the_published_figures():
    assert GPT4O_TRANSCRIBE_LIMITS.max_bytes == OPENAI_MAX_UPLOAD_BYTES
    assert GPT4O_TRANSCRIBE_LIMITS.usable_bytes < OPENAI_MAX_UPLOAD_BYTES
    assert GPT4O_TRANSCRIBE_LIMITS.max_seconds == 1400
    assert GPT4O_TRANSCRIBE_LIMITS.usable_seconds is not None
    assert GPT4O_TRANSCRIBE_LIMITS.usable_seconds < 1400


def test_whisper_has_a_byte_limit_only():
    assert limits_for_model("whisper-1") == WHISPER_LIMITS
    assert WHISPER_LIMITS.max_seconds is None
    assert WHISPER_LIMITS.usable_seconds is None


@pytest.mark.parametrize(
    "model",
    ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize", "gpt-4o-mini-transcribe-2025-03-20"],
)
def test_gpt4o_transcribe_models_and_their_snapshots_are_limited_in_seconds(model):
    assert limits_for_model(model).max_seconds == 1400


def test_an_unknown_model_gets_the_strictest_limits():
    assert limits_for_model("large-v3-self-hosted") == UNKNOWN_MODEL_LIMITS
    assert UNKNOWN_MODEL_LIMITS.max_seconds is not None


def test_a_short_recording_is_one_chunk():
    chunks = plan_chunks(131.97, bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS, overlap_seconds=5)
    assert chunks == [ChunkPlan(index=0, start=0.0, end=131.97)]


def test_a_recording_just_within_the_limit_is_one_chunk():
    longest = max_chunk_seconds(bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS)
    assert len(plan_chunks(longest, bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS)) == 1
    assert len(plan_chunks(longest + 0.1, bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS)) == 2


def test_two_hours_of_opus_for_gpt4o_are_cut_by_the_seconds_limit():
    chunks = plan_chunks(7200.0, bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS, overlap_seconds=5)
    assert GPT4O_TRANSCRIBE_LIMITS.usable_seconds is not None
    assert len(chunks) == math.ceil((7200 - 5) / (GPT4O_TRANSCRIBE_LIMITS.usable_seconds - 5))
    assert_valid_plan(chunks, 7200.0, bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS, overlap=5)
    # Equal lengths: no short last chunk for the model to invent text in.
    assert max(c.duration for c in chunks) - min(c.duration for c in chunks) < EPSILON


def test_two_hours_of_mp3_for_whisper_are_cut_by_the_byte_limit():
    bytes_per_second = 128_000 / 8
    chunks = plan_chunks(7200.0, bytes_per_second=bytes_per_second, limits=WHISPER_LIMITS, overlap_seconds=5)
    assert all(chunk.duration * bytes_per_second <= WHISPER_LIMITS.usable_bytes for chunk in chunks)
    assert len(chunks) == math.ceil((7200 - 5) / (WHISPER_LIMITS.usable_bytes / bytes_per_second - 5))
    assert_valid_plan(chunks, 7200.0, bytes_per_second=bytes_per_second, limits=WHISPER_LIMITS, overlap=5)


def test_plans_are_valid_and_use_the_fewest_chunks_over_many_durations_and_rates():
    rng = random.Random(20240517)
    durations = [0.5, 1399.0, 1400.0, 1401.0, 2519.0, 2520.0, 2521.0, 7200.0, 36_000.0]
    durations += [rng.uniform(1, 20_000) for _ in range(300)]
    rates = [150.0, 3_000.0, 6_000.0, 16_000.0, 32_000.0, 176_400.0]
    for duration in durations:
        for rate in rates:
            for limits in (WHISPER_LIMITS, GPT4O_TRANSCRIBE_LIMITS):
                overlap = rng.choice([0.0, 2.0, 5.0])
                chunks = plan_chunks(duration, bytes_per_second=rate, limits=limits, overlap_seconds=overlap)
                assert_valid_plan(chunks, duration, bytes_per_second=rate, limits=limits, overlap=overlap)
                longest = max_chunk_seconds(bytes_per_second=rate, limits=limits)
                if len(chunks) == 1:
                    assert duration <= longest
                else:
                    # One chunk fewer could not have covered the recording.
                    assert (len(chunks) - 1) * (longest - overlap) + overlap < duration


def test_an_overlap_too_large_for_the_chunks_is_refused():
    tiny = ProviderLimits(max_bytes=10_000, safety_margin=0)
    with pytest.raises(ValueError, match="overlap"):
        plan_chunks(100.0, bytes_per_second=1_000, limits=tiny, overlap_seconds=5)


@pytest.mark.parametrize("duration", [0.0, -1.0, math.nan, math.inf])
def test_a_duration_that_is_not_a_positive_number_is_refused(duration):
    with pytest.raises(ValueError, match="duration"):
        plan_chunks(duration, bytes_per_second=6000, limits=GPT4O_TRANSCRIBE_LIMITS)


@pytest.mark.parametrize("margin", [-0.1, 1.0])
def test_limits_refuse_a_margin_outside_zero_to_one(margin):
    with pytest.raises(ValueError, match="safety_margin"):
        ProviderLimits(max_bytes=1000, safety_margin=margin)


@pytest.mark.parametrize(
    ("container", "codec", "suffix"),
    [
        ("matroska,webm", "opus", ".webm"),
        ("ogg", "opus", ".ogg"),
        ("mp3", "mp3", ".mp3"),
        ("flac", "flac", ".flac"),
        ("mov,mp4,m4a,3gp,3g2,mj2", "aac", ".m4a"),
    ],
)
def test_formats_the_provider_takes_are_stream_copied_into_their_own_kind(container, codec, suffix):
    assert provider_accepts(container, codec)
    target = stream_copy_target(container, codec)
    assert target is not None
    assert target.suffix == suffix


@pytest.mark.parametrize(
    ("container", "codec"),
    [
        ("wav", "pcm_s16le"),
        ("wav", "pcm_mulaw"),
        ("matroska,webm", "aac"),
        ("aac", "aac"),
        ("mov,mp4,m4a,3gp,3g2,mj2", "alac"),
        ("mp3", "mp2"),
        ("ogg", "flac"),
    ],
)
def test_other_formats_are_transcoded(container, codec):
    assert not provider_accepts(container, codec)
    assert stream_copy_target(container, codec) is None


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("dialogue_short.webm", ".webm"),
        ("dialogue_short.mp3", ".mp3"),
        ("dialogue_short.m4a", ".m4a"),
        ("jfk.flac", ".flac"),
        ("silence_10s.ogg", ".ogg"),
        ("telehealth_clip.mp4", ".m4a"),
    ],
)
def test_the_names_probe_reports_for_the_fixtures_select_stream_copy(name, suffix):
    info = probe(AUDIO / name)
    target = stream_copy_target(info.container, info.codec)
    assert target is not None
    assert target.suffix == suffix


# Sizing for speed: as many chunks as requests allowed at once, within the limits, none shorter than the minimum.

OPUS_RATE = 6_300.0  # browser WebM/Opus, bytes per second


def test_chunks_follow_the_requests_allowed_at_once():
    for concurrency in (1, 2, 4, 8, 16):
        chunks = plan_chunks(
            7200.0,
            bytes_per_second=OPUS_RATE,
            limits=WHISPER_LIMITS,
            overlap_seconds=5,
            concurrency=concurrency,
            min_chunk_seconds=120,
        )
        # One at a time gets the fewest the 25 MB limit allows (three of 40 minutes); more get one each.
        assert len(chunks) == max(concurrency, 3)
        assert_valid_plan(chunks, 7200.0, bytes_per_second=OPUS_RATE, limits=WHISPER_LIMITS, overlap=5)
        assert max(c.duration for c in chunks) - min(c.duration for c in chunks) < EPSILON


def test_chunks_are_never_shorter_than_the_minimum_however_many_requests_are_allowed():
    chunks = plan_chunks(
        1800.0,
        bytes_per_second=OPUS_RATE,
        limits=WHISPER_LIMITS,
        overlap_seconds=5,
        concurrency=64,
        min_chunk_seconds=120,
    )
    assert len(chunks) == math.floor((1800 - 5) / (120 - 5))
    assert min(chunk.duration for chunk in chunks) >= 120


def test_a_short_recording_stays_one_chunk_whatever_the_concurrency():
    for concurrency in (1, 8, 100):
        chunks = plan_chunks(
            131.97, bytes_per_second=OPUS_RATE, limits=WHISPER_LIMITS, concurrency=concurrency, min_chunk_seconds=120
        )
        assert chunks == [ChunkPlan(index=0, start=0.0, end=131.97)]


def test_the_limits_win_over_the_concurrency():
    mp3 = 128_000 / 8
    chunks = plan_chunks(
        7200.0, bytes_per_second=mp3, limits=WHISPER_LIMITS, overlap_seconds=5, concurrency=2, min_chunk_seconds=120
    )
    assert len(chunks) == math.ceil((7200 - 5) / (WHISPER_LIMITS.usable_bytes / mp3 - 5))
    assert_valid_plan(chunks, 7200.0, bytes_per_second=mp3, limits=WHISPER_LIMITS, overlap=5)


def test_a_cap_below_the_minimum_still_caps():
    capped = ProviderLimits(max_bytes=OPENAI_MAX_UPLOAD_BYTES, max_seconds=30.0, safety_margin=0)
    chunks = plan_chunks(131.97, bytes_per_second=OPUS_RATE, limits=capped, concurrency=2, min_chunk_seconds=120)
    assert len(chunks) == 6
    assert_valid_plan(chunks, 131.97, bytes_per_second=OPUS_RATE, limits=capped, overlap=5)


def test_plans_sized_for_speed_are_valid_over_many_durations_rates_and_concurrencies():
    rng = random.Random(20251129)
    for _ in range(3000):
        duration = rng.choice([rng.uniform(1, 600), rng.uniform(600, 20_000)])
        rate = rng.choice([3_000.0, 6_300.0, 16_000.0, 32_000.0, 176_400.0])
        limits = rng.choice([WHISPER_LIMITS, GPT4O_TRANSCRIBE_LIMITS])
        concurrency = rng.randint(1, 32)
        minimum = rng.choice([1.0, 30.0, 120.0, 600.0])
        overlap = rng.choice([0.0, 2.0, 5.0])
        chunks = plan_chunks(
            duration,
            bytes_per_second=rate,
            limits=limits,
            overlap_seconds=overlap,
            concurrency=concurrency,
            min_chunk_seconds=minimum,
        )
        assert_valid_plan(chunks, duration, bytes_per_second=rate, limits=limits, overlap=overlap)
        longest = max_chunk_seconds(bytes_per_second=rate, limits=limits)
        needed = len(plan_chunks(duration, bytes_per_second=rate, limits=limits, overlap_seconds=overlap))
        assert len(chunks) >= needed
        if len(chunks) > needed:
            # Extra chunks only up to the concurrency, and only while each keeps the minimum length.
            assert len(chunks) <= concurrency
            assert min(chunk.duration for chunk in chunks) >= min(max(minimum, 4 * overlap), longest) - EPSILON


def test_seams_move_to_the_centres_given_and_keep_the_ends_and_the_overlap():
    chunks = plan_chunks(
        3600.0,
        bytes_per_second=OPUS_RATE,
        limits=WHISPER_LIMITS,
        overlap_seconds=5,
        concurrency=4,
        min_chunk_seconds=120,
    )
    room = seam_room(chunks, longest=max_chunk_seconds(bytes_per_second=OPUS_RATE, limits=WHISPER_LIMITS), shortest=120)
    assert room > 5
    centres = [
        seam_centre(before, after) + offset
        for (before, after), offset in zip(itertools.pairwise(chunks), [-3.25, 0.0, 4.5], strict=True)
    ]
    moved = move_seams(chunks, centres, overlap_seconds=5)
    assert moved[0].start == 0.0
    assert moved[-1].end == 3600.0
    for (before, after), centre in zip(itertools.pairwise(moved), centres, strict=True):
        assert seam_centre(before, after) == pytest.approx(centre, abs=0.001)
        assert before.end - after.start == pytest.approx(5, abs=0.002)


def test_seam_room_keeps_every_chunk_within_the_longest_and_the_shortest():
    chunks = plan_chunks(
        3600.0, bytes_per_second=OPUS_RATE, limits=WHISPER_LIMITS, concurrency=4, min_chunk_seconds=120
    )
    length = chunks[0].duration
    assert seam_room(chunks, longest=length + 10, shortest=120) == pytest.approx(5)
    assert seam_room(chunks, longest=10_000, shortest=length - 4) == pytest.approx(2)
    assert seam_room(chunks, longest=length, shortest=120) == 0
    assert seam_room(chunks[:1], longest=10_000, shortest=1) == 0
