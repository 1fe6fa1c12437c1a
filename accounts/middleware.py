"""Pages show times in the time zone of the practice the user works in; requests to PHI routes are audited."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.audit import (
    AuditAnnotation,
    actor_fields,
    client_ip_for,
    current_client_ip,
    outcome_for_status,
    session_of,
)
from accounts.audit_routes import PhiRoute, phi_route
from accounts.models import ApiKey, AuditEvent, User
from accounts.tenancy import current_membership
from config.middleware import current_request_id


class PracticeTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        membership = current_membership(user) if user is not None and user.is_authenticated else None
        # Kept for the page's context (config.context_processors), so it is looked up once per request.
        request.current_membership = membership  # type: ignore[attr-defined]
        if membership is None:
            return self.get_response(request)
        with timezone.override(membership.practice.zone):
            return self.get_response(request)


class AuditMiddleware:
    """Records one audit event for every request to a route of the PHI registry (``accounts.audit_routes``), once
    the view has answered, with the outcome its status gives.

    The actor is the request's API key or signed-in user (a view may name another, e.g. the caller a signed
    download link was issued to); requests with neither are not recorded, since they were refused before any
    view ran. The event goes on the caller's practice, whatever object was asked for.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        annotation = AuditAnnotation()
        request.audit_annotation = annotation  # type: ignore[attr-defined]
        with client_ip_for(request):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            route = phi_route(match.view_name) if match is not None else None
            if route is not None and match is not None:
                _record_request(request, response, route, match.kwargs, annotation.values)
        return response


def _caller(request: HttpRequest) -> tuple[ApiKey | User | None, uuid.UUID | None]:
    # DRF sets the API key on the Django request too (request.auth) once it has authenticated the call.
    key = getattr(request, "auth", None)
    if isinstance(key, ApiKey):
        return key, key.practice_id
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated:
        # Looked up once per request by PracticeTimeZoneMiddleware, before the view could change it.
        known = hasattr(request, "current_membership")
        membership = request.current_membership if known else current_membership(user)  # type: ignore[attr-defined]
        return user, membership.practice_id if membership is not None else None
    return None, None


def _record_request(
    request: HttpRequest, response: HttpResponse, route: PhiRoute, kwargs: dict[str, Any], noted: dict[str, Any]
) -> None:
    method = request.method or "GET"
    if not route.accepts(method):
        return
    action = route.action_for(method)
    if action is None:
        return
    actor, practice_id = _caller(request)
    fields: dict[str, Any] = actor_fields(actor) if actor is not None else {}
    for name in ("actor_user_id", "actor_api_key_id", "actor_label", "practice_id"):
        if name in noted:
            fields[name] = noted[name]
    if not (fields.get("actor_user_id") or fields.get("actor_api_key_id")):
        return
    fields.setdefault("practice_id", practice_id)
    outcome = outcome_for_status(response.status_code)
    object_id = str(noted.get("object_id") or (kwargs.get(route.id_kwarg, "") if route.id_kwarg else ""))
    session_id = noted.get("session_id") or (kwargs.get(route.session_kwarg) if route.session_kwarg else None)
    if session_id is None and outcome == AuditEvent.Outcome.SUCCESS:
        # Only once the caller was shown the object: the lookup would otherwise name another practice's session.
        session_id = session_of(route.object_type, object_id)
    event = {
        **fields,
        "action": action,
        "object_type": route.object_type,
        "object_id": object_id[:64],
        "session_id": session_id,
        "outcome": outcome,
    }
    if route.coalesce_seconds and _recently_recorded(event, route.coalesce_seconds):
        return
    AuditEvent.objects.create(
        **event,
        status_code=response.status_code,
        detail=str(noted.get("detail", ""))[:500],
        ip=current_client_ip(),
        request_id=current_request_id() if current_request_id() != "-" else "",
    )


def _recently_recorded(event: dict[str, Any], seconds: int) -> bool:
    same = {name: event.get(name) for name in ("practice_id", "actor_user_id", "actor_api_key_id")}
    return AuditEvent.objects.filter(
        **same,
        action=event["action"],
        object_type=event["object_type"],
        object_id=event["object_id"],
        session_id=event["session_id"],
        outcome=event["outcome"],
        occurred_at__gte=timezone.now() - dt.timedelta(seconds=seconds),
    ).exists()
