"""The session page's recorder: what it needs besides the API (which it calls for the parts themselves)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from sessions.models import ClinicalSession
from sessions.parts import recording_parts_discard


@require_http_methods(["POST"])
def recording_parts_discard_view(request: HttpRequest, pk: Any) -> HttpResponse:
    """Discard an interrupted recording's parts; the session's recording, if any, stays."""
    session = get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=pk)
    if recording_parts_discard(session=session):
        messages.success(request, "The interrupted recording was discarded.")
    else:
        messages.info(request, "There was no interrupted recording to discard.")
    return redirect(reverse("clinical_sessions:detail", kwargs={"pk": session.pk}) + "#recorder")
