"""``Idempotency-Key``: a repeated create is answered with its first answer; the same key with another body is
``idempotency_conflict``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import IdempotencyRecord, Practice
from api.authentication import caller_identity

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_POLL_SECONDS = 0.05
# A first request still unfinished after this long died with its process; its key may be claimed again.
ABANDONED_AFTER = dt.timedelta(minutes=15)


def request_fingerprint(request: Request, *parts: str | bytes) -> str:
    """What a repeated request must match: its method, path and body (given by the caller as ``parts``)."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, *parts):
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def json_fingerprint(request: Request, data: Any) -> str:
    """The fingerprint of a JSON body, independent of key order and whitespace."""
    return request_fingerprint(request, json.dumps(data, sort_keys=True, separators=(",", ":"), default=str))


def idempotency_key_of(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise exceptions.ValidationError(
            {IDEMPOTENCY_HEADER: ["Use 1 to 255 printable ASCII characters without spaces, e.g. a UUID."]}
        )
    return key


def idempotent_response(
    *, request: Request, practice: Practice, fingerprint: str, create: Callable[[], Response]
) -> Response:
    """Run ``create`` once per ``Idempotency-Key``: a repeat gets the first answer back.

    The key is claimed by inserting its row (unique per caller), so of two concurrent requests one runs and
    the other waits for its answer. A repeat with another body is refused (422). An answer of 5xx, or an
    error raised by ``create``, releases the key so the client may try again.
    """
    key = idempotency_key_of(request)
    if key is None:
        return create()
    scope = caller_identity(request)
    ttl = dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    IdempotencyRecord.objects.filter(scope=scope, created_at__lt=timezone.now() - ttl).delete()
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    practice=practice, scope=scope, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            replay = _replay(scope=scope, key=key, fingerprint=fingerprint)
            if replay is not None:
                return replay
            continue  # the first request released the key meanwhile: claim it ourselves
        return _run_claimed(record, create)
    raise exceptions.APIException("The Idempotency-Key could not be claimed; try again.")


def _run_claimed(record: IdempotencyRecord, create: Callable[[], Response]) -> Response:
    try:
        response = create()
    except BaseException:
        record.delete()
        raise
    if response.status_code >= 500:
        record.delete()
        return response
    body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code, response_body=body, completed_at=timezone.now()
    )
    return response


def _replay(*, scope: str, key: str, fingerprint: str) -> Response | None:
    """The stored answer; None when the key was released. Waits while the first request still runs."""
    deadline = time.monotonic() + settings.API_IDEMPOTENCY_WAIT_SECONDS
    while True:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            return None
        if not hmac.compare_digest(record.request_hash, fingerprint):
            raise IdempotencyConflict()
        if record.is_complete:
            return Response(record.response_body, status=record.status_code, headers={REPLAY_HEADER: "true"})
        if record.created_at < timezone.now() - ABANDONED_AFTER:
            IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()
            return None
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress()
        time.sleep(_POLL_SECONDS)


class IdempotencyConflict(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_conflict"


class IdempotencyInProgress(exceptions.APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key is still being processed; repeat it in a moment."
    default_code = "conflict"
