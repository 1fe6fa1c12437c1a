"""The duration of an audio file, for providers that must place text on a timeline themselves."""

from __future__ import annotations

from pathlib import Path

import av
import av.error

from jobs.providers.base import ProviderError, ProviderErrorCode


def measure_duration(path: Path, *, service: str) -> float:
    """Seconds of audio in the file's first audio stream.

    Packets are demuxed, not decoded: cheap, and right for files whose container carries no duration (browser
    WebM recordings) or a stale one (stream-copied chunks). Unreadable audio is refused as the API would refuse it.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ProviderError(ProviderErrorCode.VALIDATION_FAILED, service=service)
            stream = container.streams.audio[0]
            first: float | None = None
            end = 0.0
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                start = float(packet.pts * packet.time_base)
                first = start if first is None else min(first, start)
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except (av.error.FFmpegError, OSError):
        raise ProviderError(ProviderErrorCode.VALIDATION_FAILED, service=service) from None
    # Encoder priming gives negative timestamps; they are not audible time.
    return max(end - max(first or 0.0, 0.0), 0.0)
