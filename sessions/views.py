"""Clinician pages for sessions and their recordings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.tenancy import current_membership, signed_in_user
from formats.catalogue import default_note_type, note_type_choices
from sessions.forms import ConsentForm, SessionFilterForm, SessionForm
from sessions.media import format_duration
from sessions.models import ClinicalSession, ConsentScript, Recording, Transcript, max_upload_bytes
from sessions.parts import part_max_bytes, recording_parts_state
from sessions.services import session_create, session_delete, session_update
from sessions.states import TodayFirst, session_state, state_label, with_state
from sessions.uploads import UploadOutcome, recording_upload_receive

PAGE_SIZE = 25
# How often the recorder hands over a part to upload: what a closed tab may lose at most.
RECORDER_TIMESLICE_MS = 5000


def _get_session(request: HttpRequest, pk: Any) -> ClinicalSession:
    return get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=pk)


# The list's filters are kept in the login session, not the URL: a search for a client label must not end up
# in access logs or browser history.
FILTERS_SESSION_KEY = "session_list_filters"
FILTER_FIELDS = ("q", "status", "note_type", "date_from", "date_to")


@require_http_methods(["GET", "POST"])
def session_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request.user)
    choices = note_type_choices(membership.practice if membership else None, include_retired=True)
    if request.method == "POST":
        if "clear" in request.POST:
            request.session.pop(FILTERS_SESSION_KEY, None)
        else:
            request.session[FILTERS_SESSION_KEY] = {
                name: str(request.POST.get(name, ""))[:100] for name in FILTER_FIELDS if request.POST.get(name)
            }
        return redirect("clinical_sessions:list")
    saved = request.session.get(FILTERS_SESSION_KEY) or None
    form = SessionFilterForm(saved, note_type_choices=choices)
    sessions = with_state(ClinicalSession.objects.visible_to(request.user).select_related("clinician", "recording"))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            sessions = sessions.filter(client_label__icontains=data["q"])
        if data["status"]:
            sessions = sessions.filter(state=data["status"])
        if data["note_type"]:
            sessions = sessions.filter(note_type=data["note_type"])
        if data["date_from"]:
            sessions = sessions.filter(occurred_at__date__gte=data["date_from"])
        if data["date_to"]:
            sessions = sessions.filter(occurred_at__date__lte=data["date_to"])
    page: Page[Any] = Paginator(TodayFirst(sessions), PAGE_SIZE).get_page(request.GET.get("page"))
    names = dict(choices)
    page.object_list = list(page.object_list)
    for session in page.object_list:
        session.note_type_name = names.get(session.note_type, session.note_type)
        session.state_label = state_label(session.state)
    return render(
        request,
        "sessions/list.html",
        {"form": form, "page": page, "has_practice": membership is not None},
    )


@require_http_methods(["GET", "POST"])
def session_create_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request.user)
    if membership is None:
        messages.error(
            request,
            "Your account is not a member of any practice yet. Ask a practice owner or admin to invite you: "
            "the link in their email adds you.",
        )
        return redirect("clinical_sessions:list")
    choices = note_type_choices(membership.practice)
    # Most sessions are written up the day they happen: the form starts at now, in the practice's time zone.
    initial = {"note_type": default_note_type(membership), "occurred_at": timezone.localtime().replace(second=0)}
    form = SessionForm(request.POST or None, initial=initial, note_type_choices=choices)
    if request.method == "POST" and form.is_valid():
        session = session_create(
            practice=membership.practice,
            clinician=signed_in_user(request),
            created_by=signed_in_user(request),
            **form.cleaned_data,
        )
        messages.success(request, "Session created. Upload its recording below.")
        return redirect("clinical_sessions:detail", pk=session.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sessions/form.html", {"form": form, "creating": True}, status=status)


@require_http_methods(["GET"])
def session_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    session = get_object_or_404(with_state(ClinicalSession.objects.visible_to(request.user)), pk=pk)
    return _render_detail(request, session)


def _render_detail(
    request: HttpRequest, session: ClinicalSession, *, upload_error: str | None = None, status: int = 200
) -> HttpResponse:
    recording = Recording.objects.filter(session=session).first()
    transcript = Transcript.objects.filter(session=session).first()
    script = ConsentScript.objects.current_for(session.practice_id)
    parts = recording_parts_state(session)
    return render(
        request,
        "sessions/detail.html",
        {
            "session": session,
            "consent_script": script,
            "consent_form": ConsentForm(
                initial={
                    "status": session.consent_status,
                    "method": session.consent_method,
                    "script_version": script.version if script else None,
                }
            ),
            "parts": parts,
            "parts_duration": (format_duration(parts.recorded_seconds) if parts.recorded_seconds is not None else None),
            "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
            "recorder": {
                "timeslice_ms": RECORDER_TIMESLICE_MS,
                "idle_minutes": settings.RECORDING_IDLE_MINUTES,
                "part_max_bytes": part_max_bytes(),
            },
            "state": session_state(session),
            "recording": recording,
            # The transcript, the note and the audio are shown by the notes app's review workspace.
            "transcript": transcript,
            "recording_duration": format_duration(recording.duration_seconds) if recording else None,
            "note_type_name": dict(note_type_choices(session.practice, include_retired=True)).get(
                session.note_type, session.note_type
            ),
            "upload_error": upload_error,
            "max_upload_bytes": max_upload_bytes(),
        },
        status=status,
    )


@require_http_methods(["POST"])
def transcript_speakers(request: HttpRequest, pk: Any) -> HttpResponse:
    """Name the transcript's speakers (clinician, client, other); the segments themselves are unchanged."""
    session = _get_session(request, pk)
    transcript = get_object_or_404(Transcript, session=session)
    roles = set(Transcript.SpeakerRole.values)
    names: dict[str, str] = {}
    for index, speaker in enumerate(transcript.speakers()):
        role = request.POST.get(f"speaker-{index}", "")
        if role and role not in roles:
            return _render_detail(request, session, upload_error=None, status=400)
        if role:
            names[speaker] = role
    Transcript.objects.filter(pk=transcript.pk).update(speaker_names=names)
    messages.success(request, "Speakers renamed.")
    return redirect(reverse("clinical_sessions:detail", kwargs={"pk": session.pk}) + "#transcript")


@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    session = _get_session(request, pk)
    choices = note_type_choices(session.practice, keep=session.note_type)
    initial = {
        "client_label": session.client_label,
        "occurred_at": session.occurred_at,
        "note_type": session.note_type,
    }
    form = SessionForm(request.POST or None, initial=initial, note_type_choices=choices, with_consent=False)
    if request.method == "POST" and form.is_valid():
        session_update(session=session, changed_by=signed_in_user(request), **form.cleaned_data)
        messages.success(request, "Session updated.")
        return redirect("clinical_sessions:detail", pk=session.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sessions/form.html", {"form": form, "session": session, "creating": False}, status=status)


@require_http_methods(["GET", "POST"])
def session_delete_view(request: HttpRequest, pk: Any) -> HttpResponse:
    session = _get_session(request, pk)
    if request.method == "POST":
        session_delete(session=session)
        messages.success(request, "The session, its recording and its notes were deleted.")
        return redirect("clinical_sessions:list")
    return render(request, "sessions/delete.html", {"session": session})


@csrf_exempt
@require_http_methods(["POST"])
def recording_upload(request: HttpRequest, pk: Any) -> HttpResponseBase:
    """Store a new recording for the session (no processing: the session page's form also starts a job)."""
    session = _get_session(request, pk)
    outcome = recording_upload_receive(request, session)
    if isinstance(outcome, HttpResponseBase):
        return outcome
    return recording_upload_reply(request, session, outcome)


def recording_upload_reply(
    request: HttpRequest, session: ClinicalSession, outcome: UploadOutcome, *, more: str | None = None
) -> HttpResponse:
    """The page's answer to an upload: the session page with the refusal, or back to it with a message (JSON for
    the page's script). ``more`` is added to the success message (e.g. that processing started)."""
    if not outcome.stored:
        if _wants_json(request):
            return JsonResponse({"ok": False, "code": outcome.code, "message": outcome.message}, status=outcome.status)
        session.refresh_from_db()
        return _render_detail(request, session, upload_error=outcome.message, status=outcome.status)
    message = f"Recording uploaded. {more}" if more else "Recording uploaded."
    detail_url = reverse("clinical_sessions:detail", kwargs={"pk": session.pk})
    # Shown on the session page either way: after the redirect, or after the script loads it.
    messages.success(request, message)
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": message, "redirect": detail_url}, status=201)
    return redirect(detail_url)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")
