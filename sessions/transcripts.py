"""Writes to a session's Transcript: saving the pipeline's result, and reusing the transcript of identical audio."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from sessions.models import ClinicalSession, Transcript


def reusable_transcript(*, practice_id: uuid.UUID, media_sha256: str, model: str) -> Transcript | None:
    """A transcript of byte-identical audio by the same model, in the same practice only."""
    return (
        Transcript.objects.filter(session__practice_id=practice_id, media_sha256=media_sha256, model=model)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def transcript_save(
    *,
    session: ClinicalSession,
    media_sha256: str,
    model: str,
    language: str,
    segments: list[dict[str, Any]],
    provider_metadata: dict[str, Any],
    speaker_names: dict[str, str] | None = None,
) -> Transcript:
    text = "\n".join(segment["text"] for segment in segments if segment["text"])
    defaults: dict[str, Any] = {
        "media_sha256": media_sha256,
        "model": model,
        "language": language,
        "segments": segments,
        "text": text,
        "provider_metadata": provider_metadata,
    }
    if speaker_names is not None:
        defaults["speaker_names"] = speaker_names
    transcript, _ = Transcript.objects.update_or_create(session=session, defaults=defaults)
    return transcript


def transcript_copy_from(source: Transcript, *, session: ClinicalSession) -> Transcript:
    return transcript_save(
        session=session,
        media_sha256=source.media_sha256,
        model=source.model,
        language=source.language,
        segments=list(source.segments),
        provider_metadata={**source.provider_metadata, "reused_from": str(source.pk)},
        speaker_names=dict(source.speaker_names),
    )
