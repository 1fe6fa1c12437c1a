"""The clinician's note pages: the editor, AI drafts to accept or dismiss, sign-off, downloads and the
revision history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.forms import BoundField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.tenancy import signed_in_user
from config.downloads import set_download_headers
from notes.content import NoteContent, Section, normalise_section_text
from notes.exports import EXPORT_FORMATS, TXT_CONTENT_TYPE, note_export
from notes.forms import (
    AddendumForm,
    DraftAcceptForm,
    DraftDismissForm,
    FlagDismissForm,
    FlagForm,
    NoteEditForm,
    NoteSignForm,
    section_field_name,
    sign_form_for,
)
from notes.models import Note, NoteRevision
from notes.services import (
    FlagUnavailable,
    NoteConflict,
    NoteDraftUnavailable,
    NoteFlagsUnresolved,
    NoteLocked,
    NoteNotSigned,
    NoteTemplateUnavailable,
    note_accept_draft,
    note_add_addendum,
    note_dismiss_draft,
    note_dismiss_flag,
    note_fix_flag,
    note_open,
    note_save,
    note_sign,
)
from sessions.models import ClinicalSession


@dataclass(frozen=True)
class EditorSection:
    key: str
    heading: str
    field: BoundField
    flags: list[str]
    evidence: list[int]
    # Statements of the AI draft that cite nothing in the transcript, for the clinician to check.
    unsupported: list[str]
    # The saved text, shown only when it differs from what the clinician submitted.
    saved_text: str | None = None


@dataclass(frozen=True)
class DraftSection:
    key: str
    heading: str
    draft_text: str
    # None when the note has no section with this key.
    current_text: str | None
    flags: list[str]
    evidence: list[int]
    unsupported: list[str]

    @property
    def differs(self) -> bool:
        return self.current_text != self.draft_text


@dataclass(frozen=True)
class PendingDraft:
    draft_ref: str
    created_at: dt.datetime | None
    sections: list[DraftSection]
    # Headings of the note's sections the draft does not have; accepting removes them.
    dropped_headings: list[str]

    @property
    def differing_count(self) -> int:
        return sum(1 for section in self.sections if section.differs) + len(self.dropped_headings)


@dataclass(frozen=True)
class ComparedSection:
    key: str
    heading: str
    text: str
    current_text: str | None
    differs: bool


def _visible_note(request: HttpRequest, pk: UUID) -> Note:
    notes = Note.objects.visible_to(request.user).select_related("session__clinician", "session__practice", "signed_by")
    return get_object_or_404(notes, pk=pk)


# Forms on the session page (the review workspace) send this, to come back there after the action.
RETURN_TO_SESSION = "session"


def _done(request: HttpRequest, note: Note, fragment: str = "") -> HttpResponse:
    """Back to where the clinician acted from: the session page's workspace, or the note editor."""
    if request.POST.get("return_to") == RETURN_TO_SESSION:
        return redirect(reverse("clinical_sessions:detail", kwargs={"pk": note.session_id}) + fragment)
    return redirect("notes:edit", pk=note.pk)


def _flag_labels(section: Section) -> list[str]:
    return [kind.label for kind in section.flag_kinds]


def _unsupported_statements(section: Section) -> list[str]:
    return [statement.text for statement in section.unsupported_statements if statement.text]


def _pending_draft(note: Note, note_sections: list[Section]) -> PendingDraft | None:
    pending = note.pending_draft
    if not isinstance(pending, dict) or not isinstance(pending.get("sections"), list):
        return None
    draft = NoteContent.from_json(pending["sections"])
    current = note.section_texts()
    sections = [
        DraftSection(
            key=section.key,
            heading=section.heading,
            draft_text=section.text,
            current_text=current.get(section.key),
            flags=_flag_labels(section),
            evidence=list(section.evidence),
            unsupported=_unsupported_statements(section),
        )
        for section in draft.sections
    ]
    draft_keys = {section.key for section in sections}
    created_at = pending.get("created_at")
    try:
        created = dt.datetime.fromisoformat(created_at) if isinstance(created_at, str) else None
    except ValueError:
        created = None
    return PendingDraft(
        draft_ref=str(pending.get("draft_ref", "")),
        created_at=created,
        sections=sections,
        dropped_headings=[s.heading for s in note_sections if s.key not in draft_keys],
    )


def _editor_sections(form: NoteEditForm, *, saved: Note | None = None) -> list[EditorSection]:
    """Rows of the editor; with ``saved``, each row whose submitted text differs carries the saved text."""
    saved_texts = saved.section_texts() if saved is not None else {}
    rows = []
    for section in form.note_sections:
        name = section_field_name(section.key)
        saved_text = None
        if saved is not None:
            submitted = normalise_section_text(str(form.data.get(name, "")))
            current = saved_texts.get(section.key, "")
            saved_text = current if submitted != current else None
        rows.append(
            EditorSection(
                key=section.key,
                heading=section.heading,
                field=form[name],
                flags=_flag_labels(section),
                evidence=list(section.evidence),
                unsupported=_unsupported_statements(section),
                saved_text=saved_text,
            )
        )
    return rows


def _latest_revision(note: Note) -> NoteRevision | None:
    return NoteRevision.objects.filter(note=note, version=note.version).select_related("author").first()


def _render_editor(
    request: HttpRequest,
    note: Note,
    form: NoteEditForm | None = None,
    *,
    status: int = 200,
    saved: Note | None = None,
    refusal: str = "",
    action_error: str = "",
    sign_form: NoteSignForm | None = None,
    addendum_form: AddendumForm | None = None,
) -> HttpResponse:
    """The editor page. ``saved`` is the stored note when a save was refused ("conflict" or "locked");
    ``action_error`` says why accepting, dismissing or signing was refused."""
    shown = saved or note
    if form is None:
        form = NoteEditForm(note=shown, read_only=shown.is_signed)
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
        # A refused save shows the clinician's typed text; offering other actions there would lose it.
        "pending": None if refusal else _pending_draft(shown, form.note_sections),
        "action_error": action_error,
        "sign_form": sign_form or sign_form_for(shown),
        "addenda": list(shown.addenda.select_related("author")),
        "addendum_form": addendum_form or AddendumForm(),
    }
    return render(request, "notes/edit.html", context, status=status)


@require_http_methods(["POST"])
def open_note(request: HttpRequest, session_id: UUID) -> HttpResponse:
    user = signed_in_user(request)
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
    user = signed_in_user(request)
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
    return _done(request, saved, "#note")


@require_http_methods(["POST"])
def accept_draft(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = signed_in_user(request)
    note = _visible_note(request, pk)
    form = DraftAcceptForm(request.POST)
    if not form.is_valid():
        return _render_editor(
            request, note, status=400, action_error="The AI draft was not accepted: reload the note and try again."
        )
    try:
        accepted = note_accept_draft(
            note=note, version=form.cleaned_data["version"], author=user, draft_ref=form.cleaned_data["draft_ref"]
        )
    except NoteLocked as locked:
        return _render_editor(
            request,
            locked.current,
            status=409,
            action_error="The AI draft was not accepted: the note is signed, so its text can no longer change.",
        )
    except NoteDraftUnavailable as gone:
        return _render_editor(
            request,
            gone.current,
            status=409,
            action_error="That AI draft is no longer waiting: it was accepted, dismissed or replaced by a newer one.",
        )
    except NoteConflict as stale:
        return _render_editor(
            request,
            stale.current,
            status=409,
            action_error=(
                f"The AI draft was not accepted: the note was saved again (now version {stale.current.version}) "
                "after you compared it. Compare again below before accepting."
            ),
        )
    messages.success(request, f"AI draft accepted — version {accepted.version}")
    return redirect("notes:edit", pk=accepted.pk)


@require_http_methods(["POST"])
def dismiss_draft(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = signed_in_user(request)
    note = _visible_note(request, pk)
    form = DraftDismissForm(request.POST)
    if not form.is_valid():
        return _render_editor(
            request, note, status=400, action_error="The AI draft was not dismissed: reload the note and try again."
        )
    try:
        note_dismiss_draft(note=note, author=user, draft_ref=form.cleaned_data["draft_ref"])
    except NoteDraftUnavailable as newer:
        return _render_editor(
            request,
            newer.current,
            status=409,
            action_error="A newer AI draft arrived before you dismissed the previous one; it is shown below.",
        )
    messages.info(request, "AI draft dismissed. The note is unchanged.")
    return redirect("notes:edit", pk=note.pk)


@require_http_methods(["POST"])
def sign_note(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = signed_in_user(request)
    note = _visible_note(request, pk)
    form = sign_form_for(note, request.POST)
    if not form.is_valid():
        if note.is_signed:
            return _render_editor(request, note, status=409, action_error="This note is already signed.")
        return _render_editor(request, note, status=400, sign_form=form)
    try:
        signed = note_sign(
            note=note,
            version=form.cleaned_data["version"],
            signed_by=user,
            acknowledge_flags=bool(form.cleaned_data.get("acknowledge_flags")),
        )
    except NoteLocked as locked:
        return _render_editor(request, locked.current, status=409, action_error="This note is already signed.")
    except NoteConflict as stale:
        return _render_editor(
            request,
            stale.current,
            status=409,
            action_error=(
                f"The note was not signed: it changed (now version {stale.current.version}) after you opened it. "
                "Review the current text below, then sign."
            ),
        )
    except NoteFlagsUnresolved as flagged:
        return _render_editor(
            request,
            flagged.current,
            status=409,
            action_error="The note was not signed: it has flags to review. Acknowledge them below to sign.",
        )
    messages.success(request, "Note signed. It is now read-only. Add an addendum for anything that follows.")
    return _done(request, signed, "#note")


def _flag_refused(request: HttpRequest, note: Note, error: Exception, what: str) -> HttpResponse:
    """The editor page saying why a fix or a dismissal was not made."""
    if isinstance(error, NoteLocked):
        return _render_editor(
            request, error.current, status=409, action_error=f"The {what} was not made: the note is signed."
        )
    if isinstance(error, NoteConflict):
        return _render_editor(
            request,
            error.current,
            status=409,
            action_error=(
                f"The {what} was not made: the note changed (now version {error.current.version}) after you opened "
                "it. Look at the flag again below."
            ),
        )
    if isinstance(error, FlagUnavailable):
        return _render_editor(
            request, error.current, status=409, action_error=f"The {what} was not made: {error.reason}"
        )
    raise error


@require_http_methods(["POST"])
def fix_flag(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The one-click fix: the transcript's words in place of the statement's, saved as a new version."""
    user = signed_in_user(request)
    note = _visible_note(request, pk)
    form = FlagForm(request.POST)
    if not form.is_valid():
        return _render_editor(
            request, note, status=400, action_error="The fix was not made: reload the note and try again."
        )
    try:
        fixed = note_fix_flag(note=note, version=form.cleaned_data["version"], place=form.place(), author=user)
    except (NoteLocked, NoteConflict, FlagUnavailable) as refused:
        return _flag_refused(request, note, refused, "fix")
    messages.success(request, f"Replaced with the transcript's words — version {fixed.version}")
    return _done(request, fixed, "#note")


@require_http_methods(["POST"])
def dismiss_flag(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A flag dismissed with a reason: kept, shown as dismissed, no longer one to review."""
    user = signed_in_user(request)
    note = _visible_note(request, pk)
    form = FlagDismissForm(request.POST)
    if not form.is_valid():
        errors = form.errors.get("reason")
        reason = errors[0] if errors else "reload the note and try again."
        return _render_editor(request, note, status=400, action_error=f"The flag was not dismissed: {reason}")
    try:
        dismissed = note_dismiss_flag(
            note=note,
            version=form.cleaned_data["version"],
            place=form.place(),
            reason=form.cleaned_data["reason"],
            author=user,
        )
    except (NoteLocked, NoteConflict, FlagUnavailable) as refused:
        return _flag_refused(request, note, refused, "dismissal")
    messages.success(request, f"Flag dismissed — version {dismissed.version}")
    return _done(request, dismissed, "#note")


@require_http_methods(["POST"])
def add_addendum(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = signed_in_user(request)
    note = _visible_note(request, pk)
    form = AddendumForm(request.POST)
    if not form.is_valid():
        return _render_editor(request, note, status=400, addendum_form=form)
    try:
        note_add_addendum(note=note, text=form.cleaned_data["text"], author=user)
    except NoteNotSigned as unsigned:
        return _render_editor(
            request,
            unsigned.current,
            status=409,
            action_error="The note is not signed yet: edit it instead. Addenda are added to signed notes.",
        )
    messages.success(request, "Addendum added and signed in your name.")
    return _done(request, note, "#addenda")


@require_http_methods(["GET"])
def export_note(request: HttpRequest, pk: UUID) -> HttpResponse:
    note = _visible_note(request, pk)
    export_format = request.GET.get("format", "")
    if export_format not in EXPORT_FORMATS:
        refusal = HttpResponse(
            "Unknown download format: use ?format=docx or ?format=txt.\n", content_type=TXT_CONTENT_TYPE, status=400
        )
        refusal["Cache-Control"] = "no-store"
        return refusal

    export = note_export(note, export_format)
    response = HttpResponse(export.content, content_type=export.content_type)
    set_download_headers(response, export.filename)
    return response


@never_cache
@require_http_methods(["GET"])
def revision_list(request: HttpRequest, pk: UUID) -> HttpResponse:
    note = _visible_note(request, pk)
    revisions = note.revisions.defer("sections", "flags").select_related("author").order_by("-version")
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
