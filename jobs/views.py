"""Clinician actions on pipeline runs, and the live status the session page polls."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.tenancy import current_membership, signed_in_user
from billing.services import PlanLimitExceeded
from jobs.models import Job
from jobs.services import (
    AI_DISABLED_MESSAGE,
    AiDisabled,
    ConsentRequired,
    JobAlreadyActive,
    JobNotRetryable,
    NothingToProcess,
    job_cancel,
    job_retry,
    job_start,
)
from notes.models import Note
from sessions.media import MediaRejected
from sessions.models import ClinicalSession
from sessions.parts import PartsRefused, recording_parts_complete
from sessions.uploads import recording_upload_receive
from sessions.views import recording_upload_reply

CONSENT_REQUIRED_MESSAGE = (
    "Not processed: your practice requires the client's consent before processing. Record the consent as given "
    "in the Consent section, then process the recording."
)


def _plan_limit(request: HttpRequest, refused: PlanLimitExceeded) -> None:
    """The plan's refusal, with the way out: owners and admins go to the billing page, clinicians to them."""
    membership = current_membership(request.user)
    if membership is not None and membership.sees_whole_practice:
        messages.error(
            request,
            format_html('{} <a href="{}">Upgrade on the billing page</a>.', refused.message, reverse("billing:page")),
        )
    else:
        messages.error(request, f"{refused.message} Ask an owner of the practice to upgrade its plan.")


def _back(job_or_session: Job | ClinicalSession) -> HttpResponse:
    session_id = job_or_session.session_id if isinstance(job_or_session, Job) else job_or_session.pk
    return redirect(reverse("clinical_sessions:detail", kwargs={"pk": session_id}) + "#processing")


@require_http_methods(["POST"])
def start(request: HttpRequest, session_id: Any) -> HttpResponse:
    session = get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=session_id)
    try:
        job = job_start(session=session, requested_by=signed_in_user(request))
    except NothingToProcess:
        messages.error(
            request,
            "There is no audio to process: upload the recording (audio is removed some time after a successful "
            "transcript, by the practice's retention policy).",
        )
        return _back(session)
    except JobAlreadyActive:
        messages.info(request, "This session is already being processed; its progress is shown below.")
        return _back(session)
    except ConsentRequired:
        messages.error(request, CONSENT_REQUIRED_MESSAGE)
        return _back(session)
    except PlanLimitExceeded as refused:
        _plan_limit(request, refused)
        return _back(session)
    if job.status == Job.Status.FAILED:
        messages.error(request, job.error_message)
    else:
        messages.success(request, f"Processing started.{_signed_note_notice(session)}")
    return _back(session)


def _signed_note_notice(session: ClinicalSession) -> str:
    """What a run means for a note that is already signed, said where the clinician starts it."""
    if not Note.objects.filter(session=session, note_type=session.note_type, status=Note.Status.SIGNED).exists():
        return ""
    return (
        " The note is signed and stays as it is: the new draft is kept beside it for comparison, and changes to a"
        " signed note go in an addendum."
    )


@csrf_exempt
@require_http_methods(["POST"])
def upload_and_process(request: HttpRequest, session_id: Any) -> HttpResponseBase:
    """The session page's upload: store the recording, then start processing it, as a clinician expects."""
    session = get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=session_id)
    outcome = recording_upload_receive(request, session)
    if isinstance(outcome, HttpResponseBase):
        return outcome
    more = _start_after_upload(session, signed_in_user(request)) if outcome.stored else None
    return recording_upload_reply(request, session, outcome, more=more)


def _start_after_upload(session: ClinicalSession, user: User) -> str:
    session.refresh_from_db()
    try:
        job = job_start(session=session, requested_by=user)
    except JobAlreadyActive:
        return "The session was already being processed; process it again once that run ends to use this recording."
    except ConsentRequired:
        return CONSENT_REQUIRED_MESSAGE
    except PlanLimitExceeded as refused:
        return f"The recording was stored but not processed: {refused.message}"
    if job.status == Job.Status.FAILED:
        return job.error_message
    return f"Processing started.{_signed_note_notice(session)}"


@require_http_methods(["POST"])
def finish_recording(request: HttpRequest, session_id: Any) -> HttpResponse:
    """Assemble a recording made in the browser that was not finished (its page was closed), then process it."""
    session = get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=session_id)
    try:
        recording_parts_complete(session=session, completed_by=signed_in_user(request))
    except (PartsRefused, MediaRejected) as refused:
        messages.error(request, f"The recording could not be finished: {refused.message}")
        return redirect(reverse("clinical_sessions:detail", kwargs={"pk": session.pk}) + "#recorder")
    except ClinicalSession.DoesNotExist:
        raise Http404("The session was deleted meanwhile.") from None
    session.refresh_from_db()
    messages.success(request, f"Recording finished. {_start_after_upload(session, signed_in_user(request))}")
    return _back(session)


@require_http_methods(["POST"])
def retry(request: HttpRequest, pk: Any) -> HttpResponse:
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
    try:
        job_retry(job=job, requested_by=signed_in_user(request))
    except AiDisabled:
        messages.error(request, AI_DISABLED_MESSAGE)
    except JobNotRetryable:
        messages.error(request, "Only a failed or canceled run can be retried.")
    except ConsentRequired:
        messages.error(request, CONSENT_REQUIRED_MESSAGE)
    except JobAlreadyActive:
        messages.info(request, "This session is already being processed.")
    except PlanLimitExceeded as refused:
        _plan_limit(request, refused)
    else:
        messages.success(request, "Retrying from the step that failed.")
    return _back(job)


@require_http_methods(["POST"])
def cancel(request: HttpRequest, pk: Any) -> HttpResponse:
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
    was_active = job.is_active
    job = job_cancel(job=job, requested_by=signed_in_user(request))
    if not was_active:
        messages.info(request, "This run had already ended.")
    elif job.status == Job.Status.CANCELED:
        messages.info(request, "Canceled.")
    else:
        messages.info(request, "Stopping after the current step.")
    return _back(job)


def job_state(job: Job) -> dict[str, Any]:
    """What the page shows of a job; also the polling answer. No PHI."""
    end = job.finished_at or timezone.now()
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    return {
        "id": str(job.pk),
        "status": job.status,
        "status_label": job.get_status_display(),
        "stage": job.stage,
        "stage_label": job.get_stage_display(),
        "stage_number": job.stage_number,
        "stage_count": len(Job.STAGE_ORDER) - 1,
        "progress": job.progress_text(),
        "elapsed_seconds": round(elapsed),
        "attempts": job.attempts,
        "next_attempt_at": job.next_attempt_at.isoformat() if job.next_attempt_at else None,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "active": job.is_active,
    }


@never_cache
@require_http_methods(["GET"])
def status(request: HttpRequest, pk: Any) -> JsonResponse:
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
    return JsonResponse(job_state(job))
