"""What happens when a job ends, beyond the job row: outbound notifications."""

from __future__ import annotations

import uuid


def notify_job_finished(job_id: uuid.UUID) -> None:
    """Called once a job has committed as succeeded or failed. Nothing is sent yet."""
