"""How long the practice keeps its sessions' audio and files, chosen by its owners and applied by the purge
(jobs.purge): an empty choice is the server's setting (``AUDIO_RETENTION_HOURS``, ``ARTIFACT_TTL_DAYS``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.audit import audit_record
from accounts.models import ARTIFACT_TTL_DAYS_MAX, AUDIO_KEEP_DAYS_MAX, AuditEvent, Membership, Practice
from accounts.tenancy import current_membership, signed_in_user


def _duration(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


class RetentionForm(forms.Form):
    DELETE, KEEP = "delete", "keep"

    audio = forms.ChoiceField(label="Audio", widget=forms.RadioSelect)
    audio_keep_days = forms.IntegerField(
        label="Keep the audio for (days)",
        required=False,
        min_value=1,
        max_value=AUDIO_KEEP_DAYS_MAX,
        help_text=f"From 1 to {AUDIO_KEEP_DAYS_MAX} days after the note is drafted.",
    )
    artifact_ttl_days = forms.IntegerField(
        label="Keep exports and working files for (days)",
        required=False,
        min_value=1,
        max_value=ARTIFACT_TTL_DAYS_MAX,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grace = _duration(settings.AUDIO_RETENTION_HOURS)
        self.fields["artifact_ttl_days"].help_text = (
            f"From 1 to {ARTIFACT_TTL_DAYS_MAX} days after they are made; empty for this server's "
            f"{settings.ARTIFACT_TTL_DAYS}."
        )
        field = self.fields["audio"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (self.DELETE, f"Delete it once the note is drafted ({grace} after; the default)"),
            (self.KEEP, "Keep it for playback while the note is reviewed, for the days below"),
        ]
        field.help_text = "Audio that is deleted can't be played back; the transcript and the note stay."

    @classmethod
    def for_practice(cls, practice: Practice, data: Any = None) -> RetentionForm:
        initial = {
            "audio": cls.KEEP if practice.audio_retention_days else cls.DELETE,
            "audio_keep_days": practice.audio_retention_days,
            "artifact_ttl_days": practice.artifact_ttl_days,
        }
        return cls(data, initial=initial)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("audio") == self.KEEP and not cleaned.get("audio_keep_days"):
            self.add_error("audio_keep_days", "Say how many days to keep the audio.")
        return cleaned


def _summary(practice: Practice) -> str:
    audio = f"audio kept {practice.audio_retention_days} days" if practice.audio_retention_days else "audio deleted"
    files = f"files kept {practice.artifact_ttl_days} days" if practice.artifact_ttl_days else "files: server default"
    return f"{audio}; {files}"


@require_http_methods(["GET", "POST"])
def practice_retention(request: HttpRequest) -> HttpResponse:
    """What the practice keeps and for how long, changed by its owners."""
    membership = current_membership(request.user)
    if membership is None or membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only the practice's owners change its retention.")
    practice = membership.practice
    form = RetentionForm.for_practice(practice, request.POST or None)
    if request.method == "POST" and form.is_valid():
        keep = form.cleaned_data["audio"] == RetentionForm.KEEP
        with transaction.atomic():
            practice.audio_retention_days = form.cleaned_data["audio_keep_days"] if keep else None
            practice.artifact_ttl_days = form.cleaned_data["artifact_ttl_days"]
            practice.save(update_fields=["audio_retention_days", "artifact_ttl_days"])
            audit_record(
                action=AuditEvent.Action.RETENTION_CHANGED,
                actor=signed_in_user(request),
                practice_id=practice.pk,
                object_type=AuditEvent.ObjectType.PRACTICE,
                object_id=practice.pk,
                detail=_summary(practice),
            )
        messages.success(request, "Retention saved. It applies to existing sessions too, from the next clean-up.")
        return redirect("accounts:retention")
    context = {
        "form": form,
        "practice": practice,
        "audio_grace": _duration(settings.AUDIO_RETENTION_HOURS),
        "server_artifact_days": settings.ARTIFACT_TTL_DAYS,
        "audio_days": practice.audio_retention_days,
        "artifact_days": practice.artifact_ttl_days or settings.ARTIFACT_TTL_DAYS,
    }
    return render(request, "accounts/retention.html", context, status=400 if request.method == "POST" else 200)
