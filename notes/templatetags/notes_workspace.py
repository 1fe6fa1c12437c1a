"""The review workspace of the session page, provided by the notes app so sessions need not import it."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from notes.forms import AddendumForm, NoteEditForm, section_field_name, sign_form_for
from notes.models import Note
from notes.views import RETURN_TO_SESSION
from notes.workspace import build_workspace
from sessions.models import ClinicalSession, Recording, Transcript

register = template.Library()


@register.inclusion_tag("notes/_workspace.html", takes_context=True)
def review_workspace(
    context: template.Context, session: ClinicalSession, recording: Recording | None, transcript: Transcript | None
) -> dict[str, Any]:
    """The session's note, statement by statement with its evidence, beside the transcript and its audio."""
    notes = list(session.notes.select_related("signed_by", "signed_via_key", "session__clinician"))
    note: Note | None = next((n for n in notes if n.note_type == session.note_type), None)
    form = NoteEditForm(note=note, read_only=note.is_signed) if note is not None else None
    fields = {key: form[section_field_name(key)] for key in form.section_keys} if form is not None else {}
    audio_url = ""
    if recording is not None and recording.purged_at is None and recording.file.name:
        audio_url = reverse("clinical_sessions:audio", kwargs={"pk": session.pk, "recording_id": recording.pk})
    return {
        "csrf_token": context.get("csrf_token"),
        "session": session,
        "note": note,
        "review_state": note.review_state() if note is not None else None,
        "other_notes": [n for n in notes if n is not note],
        "form": form,
        "workspace": build_workspace(note.content if note else None, transcript, fields=fields),
        "sign_form": sign_form_for(note) if note is not None else None,
        "addenda": list(note.addenda.select_related("author")) if note is not None and note.is_signed else [],
        "addendum_form": AddendumForm(),
        "return_to": RETURN_TO_SESSION,
        # Flags are fixed and dismissed on a draft; a signed note's flags are shown as they were.
        "flag_actions": note is not None and not note.is_signed,
        "recording": recording,
        "audio_url": audio_url,
        "transcript": transcript,
        "speaker_roles": Transcript.SpeakerRole.choices,
    }
