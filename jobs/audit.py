"""The pipeline's entries in the audit trail."""

from __future__ import annotations

from accounts.audit import register_session_lookup
from accounts.models import AuditEvent
from jobs.models import Job


def register_audit_lookups() -> None:
    """Events about a run are shown with the session it processed."""
    register_session_lookup(
        AuditEvent.ObjectType.JOB,
        lambda job_id: Job.objects.filter(pk=job_id).values_list("session_id", flat=True).first(),
    )
