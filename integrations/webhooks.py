"""Outbound webhooks: recording events for a practice's endpoints, signing them, and delivering them only to
destinations that pass the SSRF guard.

Signature (docs/api.md): ``Sessionscribe-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint's secret.

The guard resolves the destination and refuses private, loopback, link-local, multicast, reserved and
unspecified addresses (IPv4, IPv6, and IPv4 embedded in IPv6), then connects to the very address it checked,
so a DNS answer cannot change between the check and the connection. Redirects are never followed: a 3xx is a
failed attempt. ``WEBHOOKS_ALLOW_PRIVATE`` lifts the address rule for development and tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.backoff import backoff_seconds
from config.utc import utc_iso
from integrations.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sessionscribe-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 — the marker of a secret, not one
USER_AGENT = "Sessionscribe-Webhooks/1"
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 60 * 60
# Enough of the answer to finish the exchange; what the receiver says is never stored.
_READ_LIMIT = 64 * 1024

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def new_secret() -> str:
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


# --- The SSRF guard ------------------------------------------------------------------------------


class DestinationRefused(Exception):
    """The URL may not receive webhooks; the message says why, without echoing the URL."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ip for ip in embedded if ip is not None]


def is_public_address(address: IpAddress) -> bool:
    """Whether an address is on the public internet: not private, loopback, link-local (169.254.169.254, the
    cloud metadata service, included), multicast, reserved or unspecified, nor such an address inside IPv6."""
    if isinstance(address, ipaddress.IPv6Address) and not all(is_public_address(ip) for ip in _embedded_ipv4(address)):
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (an address literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str
    address: str


def check_destination(url: str, *, allow_private: bool | None = None) -> Destination:
    """The checked destination of ``url``, with the address to connect to; DestinationRefused otherwise."""
    if allow_private is None:
        allow_private = bool(settings.WEBHOOKS_ALLOW_PRIVATE)
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused("The URL is malformed.") from None
    if parts.scheme not in ("https", "http"):
        raise DestinationRefused("The URL must start with https://.")
    if parts.scheme == "http" and not allow_private:
        raise DestinationRefused("The URL must use https://.")
    if not parts.hostname:
        raise DestinationRefused("The URL has no host.")
    if parts.username or parts.password:
        raise DestinationRefused("The URL must not contain a user name or password.")
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        raise DestinationRefused("The host name could not be resolved.") from None
    if not addresses:
        raise DestinationRefused("The host name could not be resolved.")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not allow_private and not is_public_address(address):
            raise DestinationRefused(
                "The host resolves to a private, loopback, link-local or reserved address; webhooks go only to "
                "public addresses."
            )
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return Destination(scheme=parts.scheme, host=parts.hostname, port=port, target=target, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while naming the host in the request, as the URL does."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.pinned_address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(destination.host, destination.port, timeout=timeout, context=self.tls)
        self.pinned_address = destination.address

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned_address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def post_signed(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST ``body`` to a checked destination and return the status; redirects are not followed.

    ``timeout`` bounds the whole exchange, not each read: a receiver that drips its answer a byte at a time
    would otherwise hold a shared worker for hours. When it runs out the socket is shut and TimeoutError raised.
    """
    destination = check_destination(url)
    connection: http.client.HTTPConnection
    if destination.scheme == "https":
        connection = _PinnedHTTPSConnection(destination, timeout)
    else:
        connection = _PinnedHTTPConnection(destination, timeout)
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    deadline = threading.Timer(timeout, cut_off)
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(_READ_LIMIT)
        status = int(response.status)
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError("the endpoint took longer than the delivery timeout") from None
        raise
    finally:
        deadline.cancel()
        connection.close()
    if expired.is_set():
        raise TimeoutError("the endpoint took longer than the delivery timeout")
    return status


# --- Events and deliveries ------------------------------------------------------------------------


def _enqueue(delivery_id: uuid.UUID) -> None:
    from django_q.tasks import async_task

    async_task("integrations.tasks.deliver_webhook", str(delivery_id), task_name=f"webhook {delivery_id}")


def _enqueue_at(delivery_id: uuid.UUID, when: dt.datetime) -> None:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule("integrations.tasks.deliver_webhook", str(delivery_id), schedule_type=Schedule.ONCE, next_run=when)


def webhook_event_publish(
    *, practice_id: uuid.UUID, event_type: str, event_id: uuid.UUID, data: dict[str, Any]
) -> list[WebhookDelivery]:
    """Record the event for each active endpoint of the practice and queue its delivery once committed.

    Publishing the same ``event_id`` again adds nothing, so a repeated notification sends nothing twice.
    """
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": utc_iso(timezone.now()),
        "data": data,
    }
    created: list[WebhookDelivery] = []
    for endpoint in WebhookEndpoint.objects.filter(practice_id=practice_id, active=True):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload
                )
                transaction.on_commit(functools.partial(_enqueue, delivery.pk))
        except IntegrityError:
            continue
        created.append(delivery)
    return created


def _retry_delay(attempt: int) -> int:
    return int(backoff_seconds(attempt, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS))


def webhook_deliver(delivery_id: uuid.UUID) -> WebhookDelivery | None:
    """Make one attempt at a pending delivery and record it; a failed attempt is retried with backoff until
    ``WEBHOOK_MAX_ATTEMPTS``. A destination refused by the guard fails at once."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    now = timezone.now()
    # Claimed by counting the attempt first: of two workers handed the same delivery, one sends it.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None)
    if not claimed:
        return delivery
    attempt = delivery.attempts + 1
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _record(delivery, attempt, status_code=None, error="The endpoint was switched off.", retry=False)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Sessionscribe-Event": delivery.event_type,
        "Sessionscribe-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
    }
    try:
        status_code = post_signed(endpoint.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except DestinationRefused as refused:
        return _record(delivery, attempt, status_code=None, error=str(refused), retry=False)
    except TimeoutError:
        return _record(delivery, attempt, status_code=None, error="The endpoint did not answer in time.", retry=True)
    except (OSError, http.client.HTTPException) as failure:
        error = f"The connection failed ({type(failure).__name__})."
        return _record(delivery, attempt, status_code=None, error=error, retry=True)
    if 200 <= status_code < 300:
        return _record(delivery, attempt, status_code=status_code, error="", retry=False)
    if 300 <= status_code < 400:
        error = f"The endpoint answered a redirect (HTTP {status_code}); redirects are not followed."
    else:
        error = f"The endpoint answered HTTP {status_code}."
    return _record(delivery, attempt, status_code=status_code, error=error, retry=True)


def _record(
    delivery: WebhookDelivery, attempt: int, *, status_code: int | None, error: str, retry: bool
) -> WebhookDelivery:
    now = timezone.now()
    fields: dict[str, Any] = {"last_status_code": status_code, "last_error": error[:300]}
    if not error:
        fields.update(status=WebhookDelivery.Status.SUCCEEDED, delivered_at=now)
    elif retry and attempt < settings.WEBHOOK_MAX_ATTEMPTS:
        fields["next_attempt_at"] = now + dt.timedelta(seconds=_retry_delay(attempt))
    else:
        fields["status"] = WebhookDelivery.Status.FAILED
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if "next_attempt_at" in fields:
            when: dt.datetime = fields["next_attempt_at"]
            transaction.on_commit(functools.partial(_enqueue_at, delivery.pk, when))
    logger.info("webhook delivery %s attempt %s: %s", delivery.pk, attempt, fields.get("status", "retry scheduled"))
    delivery.refresh_from_db()
    return delivery


def webhook_resend_stale(*, now: dt.datetime, quiet_for: dt.timedelta) -> int:
    """Queue again the pending deliveries nothing has touched for ``quiet_for``: a task lost with a broker, or a
    worker that died between counting an attempt and recording it. A delivery sent twice is harmless: receivers
    deduplicate on the event id, and only one of two workers can claim an attempt."""
    last_touched = Coalesce("next_attempt_at", "last_attempt_at", "created_at")
    stale = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).annotate(touched=last_touched)
    resent = 0
    for delivery_id, touched in list(stale.filter(touched__lt=now - quiet_for).values_list("pk", "touched")[:500]):
        with transaction.atomic():
            moved = (
                WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
                .annotate(touched=last_touched)
                .filter(touched=touched)
                .update(next_attempt_at=now)
            )
            if moved:
                transaction.on_commit(functools.partial(_enqueue, delivery_id))
        resent += moved
    return resent
