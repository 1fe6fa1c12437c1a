"""The pipeline's counters, kept from the job transitions (registered in JobsConfig.ready)."""

from __future__ import annotations

from config.metrics import JOB_RETRIES_TOTAL, JOBS_TOTAL
from jobs.models import Job
from jobs.transitions import Transition


def count_transition(transition: Transition) -> None:
    """Every status a job reaches, and every automatic retry by its error code.

    Counted as the move is made, inside its transaction: a move undone afterwards (by a later hook's exception)
    stays counted, which a counter of attempts can live with; waiting for the commit would add a callback to every
    move's transaction.
    """
    JOBS_TOTAL.labels(status=str(transition.to_status)).inc()
    if transition.to_status == Job.Status.RETRY_WAIT:
        JOB_RETRIES_TOTAL.labels(error_code=transition.error_code or "unknown").inc()
