"""Handing a job to the django-q2 workers: only its id travels; the job row holds everything else."""

from __future__ import annotations

import uuid

from django.db import transaction


def _enqueue(job_id: uuid.UUID) -> None:
    from django_q.tasks import async_task

    async_task("jobs.tasks.run_job", str(job_id), task_name=f"job {job_id}", group="pipeline")


def enqueue_after_commit(job_id: uuid.UUID) -> None:
    """Send "run job X" once the transaction that queued the job has committed (never for a rolled-back one)."""
    transaction.on_commit(lambda: _enqueue(job_id))
