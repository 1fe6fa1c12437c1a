"""Stage 3: draft the note from the transcript, and check every citation against it.

The drafting model returns sections of statements, each citing transcript segment ids. Here they become the
note's content (notes.content.NoteContent), once: a citation of a segment that does not exist is dropped; a
statement left with no valid citation is kept with an ``unsupported`` flag, so the clinician reviews it
before signing. Then the faithfulness checker compares every statement with the transcript and flags what it
finds said differently or not at all, per statement and for the note (notes.checking.check_draft). The draft
never overwrites a note the clinician has edited (notes.services.note_apply_draft decides).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from formats.builtin import TemplateSpec
from formats.catalogue import get_template
from jobs.artifacts import artifact_find, artifact_read_bytes, artifact_store_bytes
from jobs.models import Artifact, Job
from jobs.pipeline.transcripts import segments_from_transcript
from jobs.providers.base import DraftResult, DraftSection, DraftStatement
from jobs.providers.factory import get_drafter
from jobs.runner import Lease, PermanentFailure
from notes.checking import check_draft
from notes.content import Flag, NoteContent, Section, Statement
from notes.faithfulness.metrics import record_flags
from notes.services import NoteTemplateUnavailable, note_apply_draft
from sessions.models import Transcript


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
    try:
        draft = drafted_content(template, result, valid_ids={int(s["id"]) for s in transcript.segments})
        checked = check_draft(draft, transcript.segments)
        note_apply_draft(
            session=job.session,
            draft=checked.content,
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
    record_flags(checked.raised)
    return None


def drafted_content(template: TemplateSpec, result: DraftResult, *, valid_ids: set[int]) -> NoteContent:
    """The template's sections filled from the draft, each statement's citations checked against
    ``valid_ids``, the transcript's segment ids. Raises ValueError when the template cannot hold a note."""
    drafted = {section.key: section for section in result.sections}
    sections = []
    for spec in template.sections:
        statements = []
        for statement in drafted[spec.key].statements if spec.key in drafted else ():
            text = statement.text.strip()
            if not text:
                continue
            evidence = tuple(sorted({i for i in statement.evidence if i in valid_ids}))
            flags = () if evidence else (Flag.uncited(),)
            statements.append(Statement(text=text, evidence=evidence, flags=flags))
        sections.append(Section.from_statements(key=spec.key, heading=spec.heading, statements=statements))
    return NoteContent(sections=tuple(sections))


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
