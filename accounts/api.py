"""Who is calling the integrator API, and what each caller is allowed to repeat or how often.

- ``ApiKeyAuthentication`` reads ``Authorization: Bearer ssk_<prefix>_<secret>`` (never a query parameter)
  and sets ``request.auth`` to the ``ApiKey``; ``request.user`` is then an ``ApiKeyCaller``, not a person.
- ``acting_user`` is the person a call is recorded against (as creator, uploader, editor).
- ``idempotent_response`` answers a repeated create with its first answer (``Idempotency-Key``).
- ``CallerRateThrottle`` / ``IpRateThrottle`` count requests in fixed windows kept in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.models import ApiKey, IdempotencyRecord, Membership, Practice, RateLimitCounter, User

# last_used_at is written at most this often per key, so a busy integration does not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_DUMMY_HASH = "0" * 64


class ApiKeyCaller:
    """``request.user`` for a call made with an API key: authenticated, but not a user account.

    ``is_active`` is false so that membership-based helpers (``visible_to``) find nothing for it: a view
    that forgot the key's practice scope shows nothing rather than too much.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = False
    is_staff = False
    pk = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"API key {self.key.prefix}"


# Key prefixes are 8 hex digits (ApiKey.issue); anything else is refused before it reaches the database,
# where a NUL byte, say, would be an error rather than a miss.
_PREFIX_SHAPE = re.compile(r"[0-9a-f]{8}")


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer ssk_<prefix>_<secret>``. A request without a bearer header is left to the
    next authenticator (the browser session); a bearer that is not a valid, unrevoked key is a 401."""

    def authenticate(self, request: Request) -> tuple[ApiKeyCaller, ApiKey] | None:
        scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        key = authenticate_api_key(credentials.strip())
        return ApiKeyCaller(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def authenticate_api_key(raw_key: str) -> ApiKey:
    """The active key for ``raw_key``, or AuthenticationFailed. Records the use (at most once a minute)."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != ApiKey.PREFIX or not _PREFIX_SHAPE.fullmatch(parts[1]) or not parts[2]:
        raise exceptions.AuthenticationFailed("The API key is malformed: it looks like ssk_<prefix>_<secret>.")
    key = ApiKey.objects.select_related("practice").filter(prefix=parts[1]).first()
    # Compared in constant time, and even when no key has the prefix, so timing tells nothing about the secret.
    matches = hmac.compare_digest(key.key_hash if key else _DUMMY_HASH, ApiKey.hash_secret(raw_key))
    if key is None or not matches:
        raise exceptions.AuthenticationFailed("The API key is not valid.")
    if key.revoked_at is not None:
        raise exceptions.AuthenticationFailed("The API key has been revoked.")
    _record_use(key)
    return key


def _record_use(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


def api_key_of(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


def key_acting_user(key: ApiKey) -> User:
    """Whom a key's writes are recorded against: the member who created the key, while they still belong to
    its practice; otherwise the practice's first owner."""
    members = Membership.objects.filter(practice_id=key.practice_id, user__is_active=True).select_related("user")
    if key.created_by_id is not None:
        creator = members.filter(user_id=key.created_by_id).first()
        if creator is not None:
            return creator.user
    owner = members.filter(role=Membership.Role.OWNER).order_by("created_at").first()
    if owner is None:
        raise exceptions.PermissionDenied("The API key's practice has no active owner to act for.")
    return owner.user


def acting_user(request: Request) -> User:
    """The person the request's writes are recorded against."""
    if isinstance(request.user, User):
        return request.user
    key = api_key_of(request)
    if key is None:
        raise exceptions.NotAuthenticated()
    cached = getattr(request, "_acting_user", None)
    if isinstance(cached, User):
        return cached
    user = key_acting_user(key)
    request._acting_user = user  # type: ignore[attr-defined]
    return user


def caller_identity(request: Request) -> str:
    """A stable name for the caller: its API key or its user account."""
    key = api_key_of(request)
    if key is not None:
        return f"key:{key.pk}"
    if isinstance(request.user, User):
        return f"user:{request.user.pk}"
    raise exceptions.NotAuthenticated()


# --- Idempotency ---------------------------------------------------------------------------------

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


# --- Rate limits -----------------------------------------------------------------------------------

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/min"`` → (30 requests, 60 seconds). Periods: s, min, hour, day (and their spellings)."""
    match = _RATE.match(rate.lower())
    if match is None or match.group(2) not in _PERIODS:
        raise ValueError(f"{rate!r} is not a rate like 30/min, 500/hour or 5/s.")
    return int(match.group(1)), _PERIODS[match.group(2)]


def rate_counter_hit(*, scope: str, identity: str, window_seconds: int, now: float | None = None) -> tuple[int, int]:
    """Count one request in the current window with one atomic upsert; returns (count so far, window start)."""
    moment = time.time() if now is None else now
    window_start = int(moment // window_seconds) * window_seconds
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    count_column = connection.ops.quote_name("count")
    sql = (
        f"INSERT INTO {table} (scope, identity, window_start, {count_column}) VALUES (%s, %s, %s, 1) "  # noqa: S608 — names are ours, values are parameters
        f"ON CONFLICT (scope, identity, window_start) DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
        f"RETURNING {count_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [scope, identity, window_start])
        row = cursor.fetchone()
    count = int(row[0]) if row else 1
    if count == 1:
        # A new window: the caller's older windows are of no further use.
        RateLimitCounter.objects.filter(scope=scope, identity=identity, window_start__lt=window_start).delete()
    return count, window_start


class DatabaseRateThrottle(BaseThrottle):
    """A fixed-window limit on the view's ``throttle_scope``, counted in the database.

    The rate comes from the setting ``API_RATE_<SCOPE>`` (``API_RATE_<SCOPE>_PER_IP`` for the per-IP
    limit), read on each request.
    """

    setting_suffix: ClassVar[str] = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope or request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        rate = getattr(settings, f"API_RATE_{scope.upper()}{self.setting_suffix}", "")
        identity = self.identity(request)
        if not rate or identity is None:
            return True
        limit, window = parse_rate(rate)
        now = time.time()
        count, window_start = rate_counter_hit(scope=scope, identity=identity, window_seconds=window, now=now)
        if count <= limit:
            return True
        self._wait = max(1.0, window_start + window - now)
        return False

    def wait(self) -> float | None:
        return self._wait


class CallerRateThrottle(DatabaseRateThrottle):
    """Per API key (or per signed-in user)."""

    def identity(self, request: Request) -> str | None:
        try:
            return caller_identity(request)
        except exceptions.NotAuthenticated:
            return None


class IpRateThrottle(DatabaseRateThrottle):
    """Per client address."""

    setting_suffix = "_PER_IP"

    def identity(self, request: Request) -> str | None:
        return f"ip:{client_address(request)}"


def client_address(request: Request) -> str:
    """The client's address: the connecting one, or behind API_NUM_PROXIES proxies the one the outermost of
    them saw (earlier X-Forwarded-For entries are the client's own word, so they are not trusted)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(settings.API_NUM_PROXIES)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    if proxies and hops:
        return hops[-min(proxies, len(hops))]
    return remote
