"""Consent pages: the client's answer on the session page, and the practice's consent script (owners)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Membership
from accounts.tenancy import current_membership, signed_in_user
from sessions.consent import ConsentInvalid, consent_script_save, session_record_consent
from sessions.forms import ConsentForm, ConsentScriptForm
from sessions.models import ClinicalSession, ConsentScript


def _get_session(request: HttpRequest, pk: Any) -> ClinicalSession:
    return get_object_or_404(ClinicalSession.objects.visible_to(request.user), pk=pk)


def _detail(session: ClinicalSession, anchor: str) -> HttpResponse:
    return redirect(reverse("clinical_sessions:detail", kwargs={"pk": session.pk}) + anchor)


@require_http_methods(["POST"])
def session_consent(request: HttpRequest, pk: Any) -> HttpResponse:
    session = _get_session(request, pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(error) for field_errors in form.errors.values() for error in field_errors)
        messages.error(request, f"Consent not recorded: {errors}")
        return _detail(session, "#consent")
    data = form.cleaned_data
    script = None
    if data.get("script_version"):
        script = ConsentScript.objects.filter(practice_id=session.practice_id, version=data["script_version"]).first()
    try:
        session_record_consent(
            session=session,
            status=data["status"],
            method=data["method"],
            script=script,
            recorded_by=signed_in_user(request),
        )
    except ConsentInvalid as invalid:
        messages.error(request, f"Consent not recorded: {invalid.message}")
        return _detail(session, "#consent")
    if session.has_consent:
        messages.success(request, "Consent recorded as given. You can record the session now.")
    else:
        messages.success(request, f"Consent recorded: {session.get_consent_status_display().lower()}.")
    return _detail(session, "#consent")


def practice_owner_membership(request: HttpRequest) -> Membership:
    membership = current_membership(request.user)
    if membership is None or membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only the practice's owners edit its consent script.")
    return membership


@require_http_methods(["GET", "POST"])
def consent_script(request: HttpRequest) -> HttpResponse:
    membership = practice_owner_membership(request)
    practice = membership.practice
    current = ConsentScript.objects.current_for(practice.pk)
    initial = {
        "text": current.text if current else "",
        "require_before_processing": practice.require_consent_before_processing,
    }
    form = ConsentScriptForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = consent_script_save(
                practice=practice,
                text=form.cleaned_data["text"],
                require_before_processing=form.cleaned_data["require_before_processing"],
                saved_by=signed_in_user(request),
            )
        except ConsentInvalid as invalid:
            form.add_error("text", invalid.message)
        else:
            messages.success(
                request, f"Saved as version {saved.version} of the script." if saved else "Consent settings saved."
            )
            return redirect("clinical_sessions:consent_script")
    versions = ConsentScript.objects.filter(practice=practice).select_related("created_by")
    return render(
        request,
        "sessions/consent_script.html",
        {"form": form, "practice": practice, "current": current, "versions": versions},
        status=400 if request.method == "POST" else 200,
    )
