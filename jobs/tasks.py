"""django-q2 entry points: thin, they take ids and call the runner."""

from __future__ import annotations

from jobs.pipeline import STAGES
from jobs.runner import job_execute


def run_job(job_id: str) -> None:
    job_execute(job_id, stages=STAGES)
