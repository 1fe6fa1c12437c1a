"""The stages of a pipeline run, in order. Each takes the job and its lease, commits its outputs as
artifacts (or rows), and skips work whose output already exists, so a rerun resumes where it stopped."""

from __future__ import annotations

from jobs.models import Job
from jobs.pipeline.draft import stage_draft
from jobs.pipeline.export import stage_export
from jobs.pipeline.prepare import stage_prepare
from jobs.pipeline.transcribe import stage_transcribe
from jobs.runner import StageFunction

STAGES: dict[str, StageFunction] = {
    Job.Stage.PREPARE: stage_prepare,
    Job.Stage.TRANSCRIBE: stage_transcribe,
    Job.Stage.DRAFT: stage_draft,
    Job.Stage.EXPORT: stage_export,
}
