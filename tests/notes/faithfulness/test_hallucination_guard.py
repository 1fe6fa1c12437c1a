from __future__ import annotations

from dataclasses import dataclass

import pytest

from notes.faithfulness import drop_hallucinated_segments


def test_a_stock_phrase_over_silence_is_dropped():
    segments = [
        {"id": 0, "text": "How is the knee today?", "no_speech_prob": 0.01},
        {"id": 1, "text": " Thank you for watching!", "no_speech_prob": 0.93},
        {"id": 2, "text": "Subtitles by the Amara.org community", "no_speech_prob": 0.81},
    ]
    kept, dropped = drop_hallucinated_segments(segments)
    assert [segment["id"] for segment in kept] == [0]
    assert dropped == 2


def test_a_stock_phrase_said_over_speech_is_kept():
    segments = [{"id": 0, "text": "Thank you.", "no_speech_prob": 0.05}]
    assert drop_hallucinated_segments(segments) == (segments, 0)


def test_real_words_over_near_silence_are_kept():
    segments = [{"id": 0, "text": "i have had chest pain", "silent": True}]
    assert drop_hallucinated_segments(segments) == (segments, 0)


def test_the_caller_can_say_which_segments_are_silent():
    segments = [{"text": "Please subscribe."}, {"text": "Please subscribe."}]
    kept, dropped = drop_hallucinated_segments(segments, silent=[False, True])
    assert (kept, dropped) == ([segments[0]], 1)


def test_the_no_speech_threshold_is_the_callers_choice():
    segments = [{"text": "Thanks for watching", "no_speech_prob": 0.5}]
    assert drop_hallucinated_segments(segments)[1] == 0
    assert drop_hallucinated_segments(segments, no_speech_threshold=0.4)[1] == 1


def test_segments_may_be_objects():
    @dataclass
    class Piece:
        text: str
        silent: bool

    kept, dropped = drop_hallucinated_segments([Piece("thank you for watching", True), Piece("ok", True)])
    assert (kept, dropped) == ([Piece("ok", True)], 1)


def test_a_silence_list_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="one flag per segment"):
        drop_hallucinated_segments([{"text": "thanks"}], silent=[True, False])
