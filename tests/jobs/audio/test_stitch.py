from __future__ import annotations

import random

from jobs.audio.plan import ChunkPlan, ProviderLimits, plan_chunks
from jobs.audio.stitch import LOGPROB_THRESHOLD, NO_SPEECH_THRESHOLD, ChunkTranscript, filter_segments, stitch_chunks
from jobs.providers.base import Segment

FIRST = ChunkPlan(index=0, start=0.0, end=100.0)
SECOND = ChunkPlan(index=1, start=95.0, end=200.0)  # overlap 95-100, seam at 97.5


def seg(start, end, text, **kwargs):
    return Segment(id=99, start=start, end=end, text=text, **kwargs)


def heard_by(chunk, utterances):
    """What a model given ``chunk`` returns: the utterances it overlaps, cut to its bounds, on its own clock."""
    segments = []
    for start, end, text in utterances:
        if end > chunk.start and start < chunk.end:
            local_start = max(start, chunk.start) - chunk.start
            local_end = min(end, chunk.end) - chunk.start
            segments.append(seg(local_start, local_end, text))
    return ChunkTranscript(chunk=chunk, segments=segments)


def test_segments_are_moved_to_the_recordings_clock():
    stitched = stitch_chunks([ChunkTranscript(SECOND, [seg(10.0, 12.5, "later")])])
    assert (stitched[0].start, stitched[0].end) == (105.0, 107.5)


def test_a_segment_heard_by_both_chunks_is_kept_once_from_the_chunk_holding_its_midpoint():
    # A (95.5-97) ends before the seam at 97.5, B (98-99.5) starts after it.
    stitched = stitch_chunks(
        [
            ChunkTranscript(
                FIRST, [seg(10.0, 12.0, "early"), seg(95.5, 97.0, "A by first"), seg(98.0, 99.5, "B by first")]
            ),
            ChunkTranscript(SECOND, [seg(0.5, 2.0, "A by second"), seg(3.0, 4.5, "B by second"), seg(10, 11, "late")]),
        ]
    )
    assert [s.text for s in stitched] == ["early", "A by first", "B by second", "late"]


def test_a_segment_straddling_the_seam_is_kept_once():
    # 96-99.5 has its midpoint at 97.75, past the seam at 97.5: the second chunk's copy is kept.
    stitched = stitch_chunks(
        [
            ChunkTranscript(FIRST, [seg(96.0, 99.5, "straddle by first")]),
            ChunkTranscript(SECOND, [seg(1.0, 4.5, "straddle by second")]),
        ]
    )
    assert [s.text for s in stitched] == ["straddle by second"]


def test_a_segment_midpoint_on_the_seam_goes_to_the_later_chunk():
    stitched = stitch_chunks(
        [
            ChunkTranscript(FIRST, [seg(96.5, 98.5, "by first")]),
            ChunkTranscript(SECOND, [seg(1.5, 3.5, "by second")]),
        ]
    )
    assert [s.text for s in stitched] == ["by second"]


def test_ids_are_renumbered_in_time_order_whatever_order_the_chunks_come_in():
    stitched = stitch_chunks(
        [
            ChunkTranscript(SECOND, [seg(50.0, 51.0, "c"), seg(20.0, 21.0, "b")]),
            ChunkTranscript(FIRST, [seg(1.0, 2.0, "a")]),
        ]
    )
    assert [(s.id, s.text) for s in stitched] == [(0, "a"), (1, "b"), (2, "c")]


def test_speakers_and_scores_survive_stitching():
    stitched = stitch_chunks(
        [ChunkTranscript(SECOND, [seg(1.0, 2.0, "hi", speaker="B", no_speech_prob=0.1, avg_logprob=-0.2)])]
    )
    assert (stitched[0].speaker, stitched[0].no_speech_prob, stitched[0].avg_logprob) == ("B", 0.1, -0.2)


def test_a_chunk_left_out_as_silence_leaves_its_neighbours_whole():
    chunks = [ChunkPlan(0, 0.0, 100.0), ChunkPlan(1, 95.0, 200.0), ChunkPlan(2, 195.0, 300.0)]
    stitched = stitch_chunks(
        [
            ChunkTranscript(chunks[0], [seg(90.0, 99.9, "end of first")]),
            ChunkTranscript(chunks[2], [seg(0.0, 3.0, "start of third")]),
        ]
    )
    assert [(s.id, s.start, s.text) for s in stitched] == [(0, 90.0, "end of first"), (1, 195.0, "start of third")]


def test_timestamps_past_the_end_of_a_chunk_are_bounded_by_it():
    stitched = stitch_chunks([ChunkTranscript(FIRST, [seg(40.0, 103.0, "long tail")])])
    assert (stitched[0].start, stitched[0].end) == (40.0, 100.0)


def test_no_segment_is_lost_or_doubled_at_any_seam_of_a_long_recording():
    rng = random.Random(7)
    limits = ProviderLimits(max_bytes=10**9, max_seconds=300.0, safety_margin=0)
    for _ in range(20):
        duration = rng.uniform(400, 1500)
        overlap = rng.choice([2.0, 5.0, 8.0])
        chunks = plan_chunks(duration, bytes_per_second=1.0, limits=limits, overlap_seconds=overlap)
        # Utterances of up to half the overlap, back to back with pauses, some landing across every seam.
        utterances: list[tuple[float, float, str]] = []
        t = rng.uniform(0, 1)
        while t < duration - 1:
            length = min(rng.uniform(0.2, overlap / 2), duration - t)
            utterances.append((t, t + length, f"u{len(utterances)}"))
            t += length + rng.uniform(0, 0.8)
        stitched = stitch_chunks([heard_by(chunk, utterances) for chunk in chunks])
        assert [s.text for s in stitched] == [text for _, _, text in utterances]
        assert [s.id for s in stitched] == list(range(len(utterances)))
        drift = max(
            max(abs(s.start - start), abs(s.end - end)) for s, (start, end, _) in zip(stitched, utterances, strict=True)
        )
        assert drift < 1e-3


def test_doubtful_whisper_segments_are_dropped_and_the_rest_kept():
    segments = [
        seg(0, 1, "invented over silence", no_speech_prob=0.9, avg_logprob=-1.5),
        seg(1, 2, "quiet but confident speech", no_speech_prob=0.9, avg_logprob=-0.3),
        seg(2, 3, "rare drug name, clearly spoken", no_speech_prob=0.05, avg_logprob=-1.6),
        seg(3, 4, "no scores from this model"),
        seg(4, 5, "   "),
        seg(5, 6, ""),
    ]
    kept = filter_segments(segments)
    assert [s.text for s in kept] == [
        "quiet but confident speech",
        "rare drug name, clearly spoken",
        "no scores from this model",
    ]


def test_filter_thresholds_are_whispers_own_and_strict():
    assert (NO_SPEECH_THRESHOLD, LOGPROB_THRESHOLD) == (0.6, -1.0)
    at_the_thresholds = seg(0, 1, "borderline", no_speech_prob=0.6, avg_logprob=-1.0)
    assert filter_segments([at_the_thresholds]) == [at_the_thresholds]
    assert filter_segments([at_the_thresholds], no_speech_threshold=0.5, logprob_threshold=-0.5) == []


def test_filtering_keeps_ids_for_stitching_to_renumber():
    segments = [seg(0, 1, ""), Segment(id=7, start=1, end=2, text="kept")]
    assert [s.id for s in filter_segments(segments)] == [7]
