"""The clinician's note pages: the editor and the revision history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import BoundField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import User
from notes.forms import NoteEditForm, section_field_name
from notes.models import Note, NoteRevision
from notes.services import (
    NoteConflict,
    NoteLocked,
    NoteTemplateUnavailable,
    normalise_section_text,
    note_open,
    note_save,
)
from sessions.models import ClinicalSession

FLAG_LABELS = {
    "edited": "Edited by clinician",
    "unsupported": "Not supported by the transcript: review",
}


@dataclass(frozen=True)
class EditorSection:
    key: str
    heading: str
    field: BoundField
    flags: list[str]
    evidence_count: int
    # The saved text, shown only when it differs from what the clinician submitted.
    saved_text: str | None = None


@dataclass(frozen=True)
class ComparedSection:
    key: str
    heading: str
    text: str
    current_text: str | None
    differs: bool


def _signed_in_user(request: HttpRequest) -> User:
    user = request.user
    # LoginRequiredMiddleware keeps anonymous visitors out; this narrows the type and guards a misconfiguration.
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _visible_note(request: HttpRequest, pk: UUID) -> Note:
    notes = Note.objects.visible_to(request.user).select_related("session__clinician", "signed_by")
    return get_object_or_404(notes, pk=pk)


def _flag_labels(flags: list[Any]) -> list[str]:
    return [FLAG_LABELS.get(str(flag), str(flag).replace("_", " ").capitalize()) for flag in flags]


def _editor_sections(form: NoteEditForm, *, saved: Note | None = None) -> list[EditorSection]:
    """Rows of the editor; with ``saved``, each row whose submitted text differs carries the saved text."""
    saved_texts = saved.section_texts() if saved is not None else {}
    rows = []
    for section in form.note_sections:
        name = section_field_name(section["key"])
        saved_text = None
        if saved is not None:
            submitted = normalise_section_text(str(form.data.get(name, "")))
            current = saved_texts.get(section["key"], "")
            saved_text = current if submitted != current else None
        rows.append(
            EditorSection(
                key=section["key"],
                heading=section["heading"],
                field=form[name],
                flags=_flag_labels(section.get("flags", [])),
                evidence_count=len(evidence) if isinstance(evidence := section.get("evidence"), list) else 0,
                saved_text=saved_text,
            )
        )
    return rows


def _latest_revision(note: Note) -> NoteRevision | None:
    return NoteRevision.objects.filter(note=note, version=note.version).select_related("author").first()


def _render_editor(
    request: HttpRequest,
    note: Note,
    form: NoteEditForm,
    *,
    status: int = 200,
    saved: Note | None = None,
    refusal: str = "",
) -> HttpResponse:
    """The editor page. ``saved`` is the stored note when a save was refused ("conflict" or "locked")."""
    shown = saved or note
    latest = _latest_revision(shown)
    context = {
        "note": shown,
        "session": note.session,
        "form": form,
        "sections": _editor_sections(form, saved=saved),
        "read_only": shown.is_signed,
        "conflict": refusal == "conflict",
        "locked_after_edit": refusal == "locked",
        "latest": latest,
        "latest_by_you": latest is not None and latest.author_id == request.user.pk,
        "saved_today": latest is None or timezone.localdate(latest.created_at) == timezone.localdate(),
        # The page holds typed text that is not in the database, so leaving it asks first.
        "unsaved": bool(refusal),
    }
    return render(request, "notes/edit.html", context, status=status)


@require_http_methods(["POST"])
def open_note(request: HttpRequest, session_id: UUID) -> HttpResponse:
    user = _signed_in_user(request)
    sessions = ClinicalSession.objects.visible_to(user).select_related("practice")
    session = get_object_or_404(sessions, pk=session_id)
    try:
        note = note_open(session=session, opened_by=user)
    except NoteTemplateUnavailable:
        messages.error(
            request,
            "This session's note format is no longer available in your practice. "
            "Choose another format for the session, then open the note editor again.",
        )
        return redirect("clinical_sessions:detail", pk=session.pk)
    return redirect("notes:edit", pk=note.pk)


@never_cache
@require_http_methods(["GET", "POST"])
def edit_note(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = _signed_in_user(request)
    note = _visible_note(request, pk)
    if request.method == "GET":
        return _render_editor(request, note, NoteEditForm(note=note, read_only=note.is_signed))

    if note.is_signed:
        form = NoteEditForm(request.POST, note=note, read_only=True)
        return _render_editor(request, note, form, status=409, saved=note, refusal="locked")

    form = NoteEditForm(request.POST, note=note)
    if not form.is_valid():
        return _render_editor(request, note, form, status=400)
    version: int = form.cleaned_data["version"]
    try:
        saved = note_save(note=note, version=version, texts=form.section_texts(), author=user)
    except NoteLocked as locked:
        form = NoteEditForm(request.POST, note=locked.current, read_only=True)
        return _render_editor(request, note, form, status=409, saved=locked.current, refusal="locked")
    except NoteConflict as stale:
        return _render_editor(request, note, form, status=409, saved=stale.current, refusal="conflict")
    except Note.DoesNotExist:
        raise Http404 from None

    if saved.version == version:
        messages.info(request, "No changes to save.")
    else:
        messages.success(request, f"Saved — version {saved.version}")
    return redirect("notes:edit", pk=saved.pk)


@never_cache
@require_http_methods(["GET"])
def revision_list(request: HttpRequest, pk: UUID) -> HttpResponse:
    note = _visible_note(request, pk)
    revisions = note.revisions.defer("sections").select_related("author").order_by("-version")
    return render(request, "notes/revisions.html", {"note": note, "session": note.session, "revisions": revisions})


@never_cache
@require_http_methods(["GET"])
def revision_detail(request: HttpRequest, pk: UUID, version: int) -> HttpResponse:
    note = _visible_note(request, pk)
    revision = get_object_or_404(NoteRevision.objects.filter(note=note).select_related("author"), version=version)
    current = note.section_texts()
    compared = []
    for section in revision.sections:
        key = section.get("key", "")
        text = section.get("text", "")
        current_text = current.get(key)
        compared.append(
            ComparedSection(
                key=key,
                heading=section.get("heading", key),
                text=text,
                current_text=current_text,
                differs=current_text != text,
            )
        )
    revision_keys = {section.get("key") for section in revision.sections}
    added = [section for section in note.sections if section["key"] not in revision_keys]
    context = {
        "note": note,
        "session": note.session,
        "revision": revision,
        "sections": compared,
        "added_sections": added,
        "differing_count": sum(1 for row in compared if row.differs) + len(added),
        "is_current": revision.version == note.version,
    }
    return render(request, "notes/revision.html", context)
