"""Stage 3: draft the note from the transcript, and check every citation against it.

The drafting model returns sections of statements, each citing transcript segment ids. A citation of
a segment that does not exist is dropped; a statement left with no valid citation is kept but marked
unsupported, so the clinician reviews it before signing. The draft never overwrites a note the
clinician has edited (notes.services.note_apply_draft decides).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from formats.builtin import TemplateSpec
from formats.catalogue import get_template
from jobs.artifacts import artifact_find, artifact_read_bytes, artifact_store_bytes
from jobs.models import Artifact, Job
from jobs.pipeline.transcripts import segments_from_transcript
from jobs.providers.base import DraftResult, DraftSection, DraftStatement
from jobs.providers.factory import get_drafter
from jobs.runner import Lease, PermanentFailure
from notes.services import NoteTemplateUnavailable, note_apply_draft
from sessions.models import Transcript

UNSUPPORTED = "unsupported"


def stage_draft(job: Job, lease: Lease) -> str | None:
    transcript = Transcript.objects.filter(session_id=job.session_id).first()
    if transcript is None or transcript.media_sha256 != job.media_sha256:
        return Job.Stage.PREPARE
    template = get_template(job.session.practice, job.session.note_type)
    if template is None:
        raise PermanentFailure(
            "TEMPLATE_MISSING", "The session's note format no longer exists. Choose another format and process again."
        )
    stored = artifact_find(job, Artifact.Kind.DRAFT_JSON)
    if stored is not None:
        result = draft_from_json(artifact_read_bytes(stored))
    else:
        result = get_drafter().draft(template=template, segments=segments_from_transcript(transcript))
        artifact_store_bytes(job=job, kind=Artifact.Kind.DRAFT_JSON, content=draft_to_json(result))
    lease.load()
    sections = checked_sections(template, result, valid_ids={int(s["id"]) for s in transcript.segments})
    try:
        note_apply_draft(
            session=job.session,
            sections=sections,
            draft_ref=str(job.pk),
            model=result.model,
            prompt_version=result.prompt_version,
        )
    except NoteTemplateUnavailable:
        raise PermanentFailure(
            "TEMPLATE_MISSING", "The session's note format no longer exists. Choose another format and process again."
        ) from None
    except ValueError:
        raise PermanentFailure(
            "BAD_DRAFT", "The drafted note could not be used. Retry, or write the note by hand."
        ) from None
    return None


def checked_sections(template: TemplateSpec, result: DraftResult, *, valid_ids: set[int]) -> list[dict[str, Any]]:
    """The template's sections filled from the draft, each statement's citations checked."""
    drafted = {section.key: section for section in result.sections}
    sections = []
    for spec in template.sections:
        statements: list[dict[str, Any]] = []
        for statement in drafted[spec.key].statements if spec.key in drafted else ():
            text = statement.text.strip()
            evidence = sorted({i for i in statement.evidence if i in valid_ids})
            if text:
                statements.append({"text": text, "evidence": evidence, "supported": bool(evidence)})
        flags = [UNSUPPORTED] if any(not s["supported"] for s in statements) else []
        sections.append(
            {
                "key": spec.key,
                "heading": spec.heading,
                "text": "\n".join(str(s["text"]) for s in statements),
                "evidence": sorted({int(i) for s in statements for i in s["evidence"]}),
                "flags": flags,
                "statements": statements,
            }
        )
    return sections


def draft_to_json(result: DraftResult) -> bytes:
    return json.dumps(dataclasses.asdict(result), ensure_ascii=False).encode()


def draft_from_json(data: bytes) -> DraftResult:
    raw = json.loads(data)
    sections: Sequence[DraftSection] = tuple(
        DraftSection(
            key=section["key"],
            statements=tuple(
                DraftStatement(text=s["text"], evidence=tuple(s["evidence"])) for s in section["statements"]
            ),
        )
        for section in raw["sections"]
    )
    return DraftResult(
        sections=tuple(sections), model=raw["model"], prompt_version=raw["prompt_version"], usage=raw.get("usage", {})
    )
