"""Clinician pages for sessions and their recordings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.tenancy import current_membership, signed_in_user
from notes.templates import note_type_choices
from sessions.forms import ConsentForm, SessionFilterForm, SessionForm
from sessions.media import MediaRejected, format_duration
from sessions.models import ClinicalSession, ConsentScript, Recording, Transcript, max_upload_bytes
from sessions.parts import part_max_bytes, recording_parts_state
from sessions.services import recording_replace, session_create, session_delete, session_update
from sessions.uploads import SizeLimitedUploadHandler

PAGE_SIZE = 25
# How often the recorder hands over a part to upload: what a closed tab may lose at most.
RECORDER_TIMESLICE_MS = 5000
# Multipart framing around the file; a declared length beyond limit + this is refused unread.
MULTIPART_OVERHEAD = 1024 * 1024
UPLOAD_STATUS = {
    "empty_file": 400,
    "not_audio": 415,
    "no_audio_track": 415,
    "unsupported_codec": 415,
    "no_audio": 400,
    "corrupt": 400,
    "truncated": 400,
    "too_long": 400,
    "too_large": 413,
    "no_file": 400,
    "bad_request": 400,
}


def _get_session(request: HttpRequest, pk: Any) -> ClinicalSession:
    return get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=pk)


# The list's filters are kept in the login session, not the URL: a search for a client label must not end up
# in access logs or browser history.
FILTERS_SESSION_KEY = "session_list_filters"
FILTER_FIELDS = ("q", "status", "note_type", "date_from", "date_to")


@require_http_methods(["GET", "POST"])
def session_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request.user)
    choices = note_type_choices(membership.practice if membership else None)
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
    sessions = ClinicalSession.objects.visible_to(request.user).select_related("clinician", "recording")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            sessions = sessions.filter(client_label__icontains=data["q"])
        if data["status"]:
            sessions = sessions.filter(status=data["status"])
        if data["note_type"]:
            sessions = sessions.filter(note_type=data["note_type"])
        if data["date_from"]:
            sessions = sessions.filter(occurred_at__date__gte=data["date_from"])
        if data["date_to"]:
            sessions = sessions.filter(occurred_at__date__lte=data["date_to"])
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    names = dict(choices)
    page.object_list = list(page.object_list)
    for session in page.object_list:
        session.note_type_name = names.get(session.note_type, session.note_type)  # type: ignore[attr-defined]
    return render(
        request,
        "sessions/list.html",
        {"form": form, "page": page, "has_practice": membership is not None},
    )


@require_http_methods(["GET", "POST"])
def session_create_view(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request.user)
    if membership is None:
        messages.error(request, "Your account is not a member of any practice yet. Ask your practice owner to add you.")
        return redirect("clinical_sessions:list")
    choices = note_type_choices(membership.practice)
    form = SessionForm(request.POST or None, note_type_choices=choices)
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
    session = _get_session(request, pk)
    return _render_detail(request, session)


def _render_detail(
    request: HttpRequest, session: ClinicalSession, *, upload_error: str | None = None, status: int = 200
) -> HttpResponse:
    recording = Recording.objects.filter(session=session).first()
    transcript = Transcript.objects.filter(session=session).first()
    notes = list(session.notes.all())
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
            "recording": recording,
            "transcript": transcript,
            "transcript_rows": _transcript_rows(transcript) if transcript else [],
            "speaker_roles": Transcript.SpeakerRole.choices,
            "recording_duration": format_duration(recording.duration_seconds) if recording else None,
            "notes": notes,
            "note_type_name": dict(note_type_choices(session.practice)).get(session.note_type, session.note_type),
            "upload_error": upload_error,
            "max_upload_bytes": max_upload_bytes(),
        },
        status=status,
    )


def _transcript_rows(transcript: Transcript) -> list[dict[str, Any]]:
    return [
        {
            "id": segment["id"],
            "start": format_duration(float(segment["start"])),
            "speaker": transcript.speaker_label(segment.get("speaker")),
            "text": segment["text"],
        }
        for segment in transcript.segments
    ]


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
    choices = note_type_choices(session.practice)
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


AfterStore = Callable[[ClinicalSession, User], str | None]


@csrf_exempt
@require_http_methods(["POST"])
def recording_upload(request: HttpRequest, pk: Any) -> HttpResponseBase:
    """Store a new recording for the session (no processing: the session page's form also starts a job)."""
    return handle_recording_upload(request, _get_session(request, pk))


def handle_recording_upload(
    request: HttpRequest, session: ClinicalSession, *, after_store: AfterStore | None = None
) -> HttpResponseBase:
    """Stream, validate and store an upload; ``after_store`` runs once it is stored and may add to the message.

    The caller has checked that the user may see the session, before a byte of the body was read. The
    upload handler must be set before anything (CSRF included) parses the body: callers are csrf_exempt
    and the check is made here, with csrf_protect on the inner function.
    """
    limit = max_upload_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + MULTIPART_OVERHEAD:
        return _upload_refused(request, session, "too_large", _too_large_message(declared, limit))
    handler = SizeLimitedUploadHandler(request, max_bytes=limit)
    request.upload_handlers = [handler]
    return _recording_upload_protected(request, session, handler, after_store)


def _too_large_message(size: int | None, limit: int) -> str:
    limit_mb = limit // (1024 * 1024)
    if size:
        return f"The file is {size / (1024 * 1024):.0f} MB; the largest accepted is {limit_mb} MB."
    return f"The file is larger than the {limit_mb} MB limit."


@csrf_protect
def _recording_upload_protected(
    request: HttpRequest, session: ClinicalSession, handler: SizeLimitedUploadHandler, after_store: AfterStore | None
) -> HttpResponseBase:
    try:
        files = request.FILES
    except (MultiPartParserError, RequestDataTooBig, BadRequest):
        return _upload_refused(request, session, "bad_request", "The upload could not be read. Try again.")
    if handler.exceeded:
        return _upload_refused(request, session, "too_large", _too_large_message(None, handler.max_bytes))
    uploaded = files.get("file")
    if uploaded is None:
        return _upload_refused(request, session, "no_file", "Choose a recording to upload.")
    try:
        recording_replace(
            session=session,
            upload_path=Path(uploaded.temporary_file_path()),  # type: ignore[attr-defined]
            original_filename=uploaded.name or "recording",
            uploaded_by=signed_in_user(request),
        )
    except MediaRejected as rejected:
        return _upload_refused(request, session, rejected.code, rejected.message)
    except ClinicalSession.DoesNotExist:
        raise Http404("The session was deleted during the upload.") from None
    finally:
        uploaded.close()
    message = "Recording uploaded."
    if after_store is not None:
        session.refresh_from_db()
        extra = after_store(session, signed_in_user(request))
        if extra:
            message = f"{message} {extra}"
    detail_url = reverse("clinical_sessions:detail", kwargs={"pk": session.pk})
    # Shown on the session page either way: after the redirect, or after the script loads it.
    messages.success(request, message)
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": message, "redirect": detail_url}, status=201)
    return redirect(detail_url)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _upload_refused(request: HttpRequest, session: ClinicalSession, code: str, message: str) -> HttpResponse:
    status = UPLOAD_STATUS.get(code, 400)
    if _wants_json(request):
        return JsonResponse({"ok": False, "code": code, "message": message}, status=status)
    session.refresh_from_db()
    return _render_detail(request, session, upload_error=message, status=status)
