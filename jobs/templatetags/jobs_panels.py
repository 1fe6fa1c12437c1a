"""The processing panel of the session page, provided by the jobs app so sessions need not import it."""

from __future__ import annotations

from typing import Any

from django import template

from jobs.models import Job
from jobs.views import job_state
from sessions.models import ClinicalSession, Recording

register = template.Library()


@register.inclusion_tag("jobs/_panel.html")
def processing_panel(session: ClinicalSession, recording: Recording | None) -> dict[str, Any]:
    job = Job.objects.filter(session=session).order_by("-created_at").first()
    return {
        "session": session,
        "job": job,
        "state": job_state(job) if job else None,
        "has_recording": recording is not None,
    }
