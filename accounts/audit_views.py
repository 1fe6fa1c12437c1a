"""The practice's audit trail, read by its owners and admins: who opened, changed, exported or sent what, and the
practice's security events. Objects are shown by type and id (a session as a link to its page, which applies its
own tenancy), never by their content."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import AuditEvent, Membership
from accounts.views import practice_admin_membership

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(
        label="Object", required=False, choices=[("", "Any"), *AuditEvent.ObjectType.choices]
    )
    object_id = forms.CharField(label="Object id", required=False, max_length=64)
    actor = forms.UUIDField(label="Member or API key id", required=False)
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any"), *AuditEvent.Action.choices])
    since = forms.DateField(label="Since", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_object_id(self) -> str:
        return str(self.cleaned_data["object_id"]).strip()


@never_cache
@require_http_methods(["GET"])
def audit_log(request: HttpRequest) -> HttpResponse:
    membership = practice_admin_membership(request)
    practice = membership.practice
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.visible_to(request.user).filter(practice_id=practice.pk)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
        events = events.none()
    elif form.is_bound:
        filters = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
        if filters.get("object_id"):
            events = events.about(filters.get("object_type") or AuditEvent.ObjectType.SESSION, filters["object_id"])
        elif filters.get("object_type"):
            events = events.filter(object_type=filters["object_type"])
        if filters.get("actor"):
            events = events.by_actor(filters["actor"])
        if filters.get("action"):
            events = events.filter(action=filters["action"])
        if filters.get("since"):
            start = timezone.make_aware(dt.datetime.combine(filters["since"], dt.time.min))
            events = events.filter(occurred_at__gte=start)
        if filters.get("before"):
            events = events.filter(id__lt=filters["before"])
    page = list(events.order_by("-id")[: PAGE_SIZE + 1])
    has_older = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    kept = {name: str(value) for name, value in filters.items() if name != "before"}
    names: dict[uuid.UUID | None, str] = {
        user_id: full_name or email
        for user_id, full_name, email in Membership.objects.filter(practice=practice)
        .order_by()
        .values_list("user_id", "user__full_name", "user__email")
    }
    for event in page:
        event.actor_name = names.get(event.actor_user_id) or event.actor_label  # type: ignore[attr-defined]
    actor_id: uuid.UUID | None = filters.get("actor")
    context = {
        "practice": practice,
        "form": form,
        "events": page,
        "filtered": bool(kept),
        "actor_name": names.get(actor_id),
        "older_url": f"?{urlencode({**kept, 'before': page[-1].pk})}" if has_older and page else None,
        "newest_url": f"?{urlencode(kept)}" if filters.get("before") else None,
        "session_type": AuditEvent.ObjectType.SESSION,
    }
    return render(request, "accounts/audit.html", context, status=status)
