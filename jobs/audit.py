"""The pipeline's entries in the audit trail: each handover of a session's audio to the transcription provider
and of its transcript to the drafting provider, recorded by the runner as the stage starts, on behalf of whoever
asked for the run or its latest retry (or the system). The detail names the provider and model, never what was
sent."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from accounts.audit import audit_record, register_session_lookup
from accounts.models import AuditEvent, User
from jobs.models import Job, JobEvent

Action = AuditEvent.Action


def _destination(provider: str, model: str, base_url: str | None) -> str:
    if settings.AI_MODE == "stub":
        return "simulated (demo mode: nothing left the server)"
    where = f" at {urlsplit(base_url).hostname}" if base_url else ""
    return f"{provider} {model}{where}"


def _handover(stage: str) -> tuple[AuditEvent.Action, str] | None:
    if stage == Job.Stage.TRANSCRIBE:
        return Action.SENT_TO_TRANSCRIPTION, _destination(
            "openai", settings.TRANSCRIPTION_MODEL, settings.OPENAI_BASE_URL
        )
    if stage == Job.Stage.DRAFT:
        base_url = (
            settings.ANTHROPIC_BASE_URL if settings.DRAFTING_PROVIDER == "anthropic" else settings.OPENAI_BASE_URL
        )
        return Action.SENT_TO_DRAFTING, _destination(settings.DRAFTING_PROVIDER, settings.DRAFTING_MODEL, base_url)
    return None


def audit_stage_handover(job: Job) -> None:
    """Record that the job's current stage is about to send the session's audio or transcript to a provider."""
    handover = _handover(job.stage)
    if handover is None:
        return
    action, destination = handover
    audit_record(
        action=action,
        actor=_who_asked(job),
        practice_id=job.session.practice_id,
        object_type=AuditEvent.ObjectType.JOB,
        object_id=job.pk,
        session_id=job.session_id,
        detail=destination,
    )


def _who_asked(job: Job) -> User | None:
    """The person who started the run or, when it was retried by hand (by them, a colleague or staff), retried it
    last."""
    asked = (
        JobEvent.objects.filter(job=job, kind__in=[JobEvent.Kind.CREATED, JobEvent.Kind.RETRIED], actor__isnull=False)
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )
    return asked.actor if asked is not None else job.requested_by


def register_audit_lookups() -> None:
    """Events about a run are shown with the session it processed."""
    register_session_lookup(
        AuditEvent.ObjectType.JOB,
        lambda job_id: Job.objects.filter(pk=job_id).values_list("session_id", flat=True).first(),
    )
