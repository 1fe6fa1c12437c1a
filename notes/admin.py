"""Staff views of notes: metadata only. Note text is clinical content and stays out of the admin, except through
"Reveal text": a staff member with the ``notes.reveal_phi`` permission gives a reason and sees the note's or its
session's transcript's text once, on a page that is never cached; the practice's audit trail records it
(``staff_phi_reveal``, through the route registry in accounts.audit_routes)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from accounts.audit import audit_annotate
from notes.models import Addendum, Note, NoteRevision
from sessions.models import Transcript

REVEAL_PERMISSION = "notes.reveal_phi"
REVEAL_REASON_MIN_LENGTH = 20


class RevealForm(forms.Form):
    NOTE, TRANSCRIPT = "note", "transcript"

    what = forms.ChoiceField(
        label="Reveal",
        choices=[(NOTE, "The note's text and its addenda"), (TRANSCRIPT, "The session's transcript")],
        widget=forms.RadioSelect,
        initial=NOTE,
    )
    reason = forms.CharField(
        label="Reason",
        min_length=REVEAL_REASON_MIN_LENGTH,
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why support must read it, e.g. the ticket it answers. The practice reads this reason in its "
        "audit log; do not write the client's details in it.",
    )

    def clean_reason(self) -> str:
        reason = " ".join(str(self.cleaned_data["reason"]).split())
        if len(reason) < REVEAL_REASON_MIN_LENGTH:
            raise forms.ValidationError(f"Give a reason of at least {REVEAL_REASON_MIN_LENGTH} characters.")
        return reason


class NoteRevisionInline(admin.TabularInline[NoteRevision, Note]):
    model = NoteRevision
    fields = ("version", "source", "author", "draft_ref", "meta", "created_at")
    readonly_fields = fields
    exclude = ("sections", "flags")
    extra = 0
    can_delete = False
    ordering = ("-version",)
    verbose_name_plural = "revisions (text not shown)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[NoteRevision]:
        return super().get_queryset(request).defer("sections", "flags").select_related("author")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AddendumInline(admin.TabularInline[Addendum, Note]):
    model = Addendum
    fields = ("id", "author", "api_key", "created_at")
    readonly_fields = fields
    # The text is clinical content, like the note's.
    exclude = ("text",)
    extra = 0
    can_delete = False
    verbose_name_plural = "addenda (text not shown)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Addendum]:
        return super().get_queryset(request).defer("text").select_related("author", "api_key")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin[Note]):
    list_display = ("id", "session", "note_type", "status", "version", "flags_to_review", "updated_at")
    list_filter = ("status", "note_type")
    search_fields = ("id", "session__id")
    list_select_related = ("session",)
    # Pending AI drafts hold note text just as sections do, and flags quote it.
    exclude = ("sections", "pending_draft", "pending_draft_ref", "flags", "flag_counts")
    readonly_fields = (
        "id",
        "session",
        "note_type",
        "template_name",
        "status",
        "version",
        "created_at",
        "updated_at",
        "signed_at",
        "signed_by",
        "signed_via_key",
        "has_pending_draft",
        "last_draft_ref",
        "flags_to_review",
    )
    inlines = (NoteRevisionInline, AddendumInline)
    change_form_template = "admin/notes/note/change_form.html"
    ordering = ("-updated_at",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Note]:
        return super().get_queryset(request).defer("sections", "flags", "pending_draft")

    @admin.display(description="Flags to review")
    def flags_to_review(self, obj: Note) -> str:
        """How many flags of each kind the note still has to review: counts only, never their words."""
        counts = obj.flag_counts if isinstance(obj.flag_counts, dict) else {}
        return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()) if count) or "—"

    @admin.display(boolean=True, description="AI draft waiting for review")
    def has_pending_draft(self, obj: Note) -> bool:
        return obj.has_pending_draft

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Notes are created from a session by the note service, never by hand.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Note | None = None) -> bool:
        # Edits must go through the versioned save; staff read the metadata.
        return False

    def get_urls(self) -> list[URLPattern]:
        reveal = path(
            "<path:object_id>/reveal/",
            self.admin_site.admin_view(self.reveal_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_reveal",
        )
        return [reveal, *super().get_urls()]

    def reveal_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show a note's or its transcript's text once, to staff allowed to, for a reason that is recorded."""
        if request.method not in {"GET", "POST"}:
            return HttpResponseNotAllowed(["GET", "POST"])
        if not request.user.has_perm(REVEAL_PERMISSION):
            raise PermissionDenied("Revealing text needs the “reveal PHI” permission.")
        note_id = _uuid_or_none(unquote(object_id))
        note = Note.objects.select_related("session").filter(pk=note_id).first() if note_id else None
        if note is None:
            raise Http404("No such note.")
        form = RevealForm(request.POST or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": note,
            "title": "Reveal text",
            "form": form,
        }
        status = 200
        if request.method == "POST" and form.is_valid():
            what = form.cleaned_data["what"]
            audit_annotate(
                request,
                practice_id=note.session.practice_id,
                session_id=note.session_id,
                detail=f"{what}: {form.cleaned_data['reason']}",
            )
            if what == RevealForm.NOTE:
                context["sections"] = [(s.get("heading", s.get("key", "")), s.get("text", "")) for s in note.sections]
                context["addenda"] = list(note.addenda.select_related("author"))
            else:
                context["transcript"] = Transcript.objects.filter(session_id=note.session_id).first()
            context["revealed"] = what
        elif request.method == "POST":
            status = 400
        response = TemplateResponse(request, "admin/notes/note/reveal.html", context, status=status)
        response["Cache-Control"] = "no-store"
        return response


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
