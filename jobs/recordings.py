"""Recordings made in the browser whose page went away: the dispatcher assembles them once idle, then
processes them, as the page would have done when the clinician pressed stop."""

from __future__ import annotations

import datetime as dt
import logging

from billing.services import PlanLimitExceeded
from jobs.services import ConsentRequired, JobAlreadyActive, NothingToProcess, job_start
from sessions.models import ClinicalSession
from sessions.parts import recordings_complete_idle

logger = logging.getLogger(__name__)


def idle_recordings_finish(*, now: dt.datetime) -> int:
    """Assemble the idle recordings and start their processing; returns how many were assembled."""
    session_ids = recordings_complete_idle(now=now)
    for session in ClinicalSession.objects.filter(pk__in=session_ids):
        try:
            job_start(session=session, requested_by=None)
        except (ConsentRequired, JobAlreadyActive, NothingToProcess, PlanLimitExceeded) as refused:
            # The recording is kept; the session page offers to process it.
            logger.info("assembled recording of session %s not processed: %s", session.pk, type(refused).__name__)
    return len(session_ids)
