"""What the fake transcription API "hears": the uploaded audio's real duration, filled with fixed sentences."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import av
import av.error

SEGMENT_SECONDS = 6.0
SENTENCES = (
    "Thanks for coming in today.",
    "I have been feeling more settled this week.",
    "What helped the most?",
    "Walking in the morning and writing things down.",
    "Let's keep that going and check in next time.",
    "That sounds good to me.",
)


@dataclass(frozen=True)
class SpokenSegment:
    start: float
    end: float
    text: str
    speaker: str = "A"


class UndecodableAudio(ValueError):
    pass


# Files longer than this, by their header, have only their ends demuxed (see audio_duration).
DEMUX_ENDS_OVER_SECONDS = 60.0


def audio_duration(data: bytes) -> float:
    """Seconds of audio in the first audio stream, by demuxing packets (as a server would when billing).

    A long file is demuxed at its two ends only: its first packets, then from a seek to a little before where its
    header says it ends. The packets found there decide, so a header that is wrong about the end still gives the
    real one; a whole pass would cost the fake a second of CPU per long upload, which a benchmark would count as
    the provider's latency.
    """
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise UndecodableAudio("no audio stream")
            stream = container.streams.audio[0]
            declared = container.duration / av.time_base if container.duration else 0.0
            start: float | None = None
            end = 0.0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                begin = float(packet.pts * packet.time_base)
                start = begin if start is None else min(start, begin)
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                if declared > DEMUX_ENDS_OVER_SECONDS and begin > 1.0:
                    break
            if declared > DEMUX_ENDS_OVER_SECONDS and start is not None:
                container.seek(int((declared - 10.0) * av.time_base), backward=True)
                for packet in container.demux(stream):
                    if packet.pts is not None:
                        end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except (av.error.FFmpegError, OSError) as error:
        raise UndecodableAudio(str(error)) from None
    return max(end - max(start or 0.0, 0.0), 0.0)


def demo_segments(duration: float) -> list[SpokenSegment]:
    """Evenly spaced segments of about six seconds covering the audio, speakers alternating A and B."""
    count = math.ceil(duration / SEGMENT_SECONDS) if duration > 0 else 0
    length = duration / count if count else 0.0
    return [
        SpokenSegment(
            start=round(index * length, 2),
            end=round(duration if index == count - 1 else (index + 1) * length, 2),
            text=SENTENCES[index % len(SENTENCES)],
            speaker="AB"[index % 2],
        )
        for index in range(count)
    ]
