"""Who is calling the integrator API.

``ApiKeyAuthentication`` reads ``Authorization: Bearer ssk_<prefix>_<secret>`` (never a query parameter) and
sets ``request.auth`` to the ``ApiKey``; ``request.user`` is then an ``ApiKeyCaller``, not a person.
``acting_user`` is the person a call is recorded against (as creator, uploader, editor).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import time

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.entitlements import Feature, LimitReason, PlanLimitExceeded, feature_require
from accounts.models import ApiKey, Membership, User
from accounts.rate_limits import parse_rate, rate_counter_count, rate_counter_hit
from api.errors import plan_limit_error
from config.log_context import bind_practice
from config.net import client_address_of

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
        guard = FailedKeyGuard(client_address_of(request))
        guard.refuse_when_over()
        try:
            key = authenticate_api_key(credentials.strip())
        except exceptions.AuthenticationFailed:
            guard.count_failure()
            raise
        bind_practice(key.practice_id)
        _require_api_access(key)
        return ApiKeyCaller(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def _require_api_access(key: ApiKey) -> None:
    """A practice whose plan leaves out API access is refused with 402. One whose subscription lapsed keeps
    reading its data through the API; starting jobs is refused where jobs start."""
    try:
        feature_require(key.practice, Feature.API_ACCESS)
    except PlanLimitExceeded as refused:
        if refused.reason == LimitReason.FEATURE_NOT_IN_PLAN:
            raise plan_limit_error(refused) from None


class FailedKeyGuard:
    """Failed bearer keys are counted per client address (``API_KEY_FAILURES_PER_IP``, in the database so every
    process shares the count); past the limit the address gets 429 with Retry-After, even with a right key, until
    the window ends. Keys are 256 random bits, so this is about noise and cost more than about guessing."""

    SCOPE = "api_key_failures"

    def __init__(self, address: str) -> None:
        self.identity = f"ip:{address}"
        self.limit, self.window = parse_rate(str(settings.API_KEY_FAILURES_PER_IP))

    def refuse_when_over(self) -> None:
        now = time.time()
        count, window_start = rate_counter_count(
            scope=self.SCOPE, identity=self.identity, window_seconds=self.window, now=now
        )
        if count >= self.limit:
            raise exceptions.Throttled(wait=max(1.0, window_start + self.window - now))

    def count_failure(self) -> None:
        rate_counter_hit(scope=self.SCOPE, identity=self.identity, window_seconds=self.window)


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
