"""Writing the audit trail: one function that records an event, and what it needs to know about the request.

Events are written three ways, so that no path to PHI can forget one:

- the audit middleware (``accounts.middleware.AuditMiddleware``) records every request to a route of the PHI
  registry (``accounts.audit_routes``) once the view has answered;
- services record the security events they cause (API keys, members, invitations, retention), and
  ``accounts.security_events`` the logins, failed logins, logouts and two-factor changes;
- the pipeline records each handover of a session's audio or transcript to an AI provider (``jobs.audit``).

The client's address and the request id come from the request being served (context variables set by the
middleware), so a service records them without being handed the request. Nothing here ever receives PHI: callers
pass ids, action names and short fixed texts.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import ipaddress
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.http import HttpRequest

from accounts.models import ApiKey, AuditEvent, User
from config.middleware import current_request_id

logger = logging.getLogger(__name__)

Action = AuditEvent.Action
Outcome = AuditEvent.Outcome
ObjectType = AuditEvent.ObjectType

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_client_ip", default=None)

Actor = User | ApiKey | None


def outcome_for_status(status_code: int) -> AuditEvent.Outcome:
    """What an answer's status says about the attempt: refused (not signed in, not allowed, over the plan, rate
    limited), not found (or no longer there), failed, or done."""
    if status_code < 400:
        return Outcome.SUCCESS
    if status_code in {401, 402, 403, 429}:
        return Outcome.DENIED
    if status_code in {404, 410}:
        return Outcome.NOT_FOUND
    return Outcome.ERROR


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the outermost trusted proxy saw it.

    With ``TRUSTED_PROXY_COUNT`` = 0 it is the connecting address and X-Forwarded-For is ignored (a client can
    write anything there). With N proxies, each appending the address it received from, the client's is the
    N-th entry from the right; entries further left were written by the client and are never read.
    """
    trusted = int(settings.TRUSTED_PROXY_COUNT)
    candidate = request.META.get("REMOTE_ADDR", "")
    if trusted > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


@contextmanager
def client_ip_for(request: HttpRequest) -> Iterator[None]:
    """Events recorded while ``request`` is served carry its client's address."""
    token = _client_ip.set(client_ip(request))
    try:
        yield
    finally:
        _client_ip.reset(token)


def current_client_ip() -> str | None:
    """The address of the client of the request being served; None outside a request (a worker, a command)."""
    return _client_ip.get()


def actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, ApiKey):
        return {"actor_api_key_id": actor.pk, "actor_label": f"API key {actor.prefix}"}
    if isinstance(actor, User):
        return {"actor_user_id": actor.pk, "actor_label": actor.email[:200]}
    return {"actor_label": "system"}


def audit_record(
    *,
    action: AuditEvent.Action,
    actor: Actor,
    practice_id: uuid.UUID | None,
    object_type: str = "",
    object_id: Any = "",
    session_id: uuid.UUID | None = None,
    outcome: AuditEvent.Outcome = Outcome.SUCCESS,
    status_code: int | None = None,
    detail: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Append one event to the trail. ``detail`` is a short fixed text or staff's reason, never PHI."""
    fields = actor_fields(actor)
    if actor_label:
        fields["actor_label"] = actor_label[:200]
    return AuditEvent.objects.create(
        action=action,
        practice_id=practice_id,
        object_type=object_type,
        object_id=str(object_id or "")[:64],
        session_id=session_id,
        outcome=outcome,
        status_code=status_code,
        detail=detail[:500],
        ip=current_client_ip(),
        request_id=current_request_id() if current_request_id() != "-" else "",
        **fields,
    )


# --- What a view adds to the event the middleware records --------------------------------------------


@dataclass
class AuditAnnotation:
    """What only the view knows: the object it found when the URL does not name it, the practice of an object
    staff opened, the actor of a signed link, the reason staff gave. Set through ``audit_annotate``."""

    values: dict[str, Any] = field(default_factory=dict)


_ANNOTATABLE = {
    "object_id",
    "session_id",
    "practice_id",
    "actor_user_id",
    "actor_api_key_id",
    "actor_label",
    "detail",
}


def audit_annotate(request: Any, **values: Any) -> None:
    """Add to the audit event of this request (a PHI route's). Accepts a Django or a DRF request."""
    unknown = set(values) - _ANNOTATABLE
    if unknown:
        raise TypeError(f"not an annotatable audit field: {sorted(unknown)}")
    django_request = getattr(request, "_request", request)
    annotation = getattr(django_request, "audit_annotation", None)
    if isinstance(annotation, AuditAnnotation):
        annotation.values.update(values)


# --- The session an object belongs to --------------------------------------------------------------

SessionLookup = Callable[[str], "uuid.UUID | None"]

_session_lookups: dict[str, SessionLookup] = {}


def register_session_lookup(object_type: str, lookup: SessionLookup) -> None:
    """``lookup(object_id)`` gives the id of the clinical session an object of ``object_type`` belongs to. The
    apps that own such objects register it from their ``AppConfig.ready`` (accounts knows no sessions)."""
    _session_lookups[object_type] = lookup


def session_of(object_type: str, object_id: str) -> uuid.UUID | None:
    lookup = _session_lookups.get(object_type)
    if lookup is None or not object_id:
        return None
    try:
        return lookup(object_id)
    except (ValueError, TypeError, ValidationError):
        return None


# --- Retention ---------------------------------------------------------------------------------------

# PostgreSQL's trigger (migration accounts 0008) refuses to delete audit events unless the transaction says it
# is the retention purge; elsewhere there is no trigger and this is only the application's rule.
PURGE_FLAG_SQL = "SELECT set_config('sessionscribe.audit_purge', 'on', true)"


def audit_events_past_retention(now: dt.datetime) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(occurred_at__lt=now - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS))


def audit_events_delete_past_retention(ids: list[int], *, now: dt.datetime) -> int:
    """Delete these events, if they are past ``AUDIT_RETENTION_DAYS``: the one deletion of audit events there is.
    The retention purge (jobs.purge) calls it batch by batch."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(PURGE_FLAG_SQL)
        expired = audit_events_past_retention(now).filter(pk__in=ids)
        # The queryset's own delete() refuses; this is the deliberate way round it.
        deleted, _ = models.QuerySet.delete(expired)
    return deleted
