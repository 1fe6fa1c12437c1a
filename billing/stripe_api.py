"""The one way billing talks to Stripe: the SDK's client for the configured key and address, and the few calls
billing makes, answered as plain dicts in Stripe's JSON shapes (what a webhook's payload holds too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, EventListParams
    from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
    from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams

# Seconds a call to Stripe may take; a page that waits on Stripe must not hang for the SDK's 80 s default.
STRIPE_TIMEOUT_SECONDS = 20


class StripeUnavailable(Exception):
    """Stripe could not be asked (network, its own error, our key): try again later. No PHI in the message."""


class StripeNotFound(Exception):
    """Stripe has no such object (any more)."""


def billing_enabled() -> bool:
    """Billing is on when a Stripe key is configured; without one (self-hosted mode) nothing is limited."""
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        str(settings.STRIPE_SECRET_KEY),
        base_addresses={"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {},
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS),
        max_network_retries=2,
    )


def _as_dict(obj: stripe.StripeObject) -> dict[str, Any]:
    response = obj.last_response
    if response is not None and isinstance(response.data, dict):
        return response.data
    return obj._to_dict_recursive()


def _call(what: str, call: Any) -> dict[str, Any]:
    try:
        return _as_dict(call())
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            raise StripeNotFound(what) from None
        raise StripeUnavailable(f"Stripe refused {what}: {error.code or error.http_status}") from None
    except stripe.StripeError as error:
        raise StripeUnavailable(f"Stripe could not be reached for {what}: {type(error).__name__}") from None


def stripe_subscription_retrieve(subscription_id: str) -> dict[str, Any]:
    """The subscription as Stripe has it now: the truth whatever order its events arrived in."""
    return _call("a subscription", lambda: stripe_client().v1.subscriptions.retrieve(subscription_id))


def stripe_customer_create(*, email: str, name: str, practice_id: str) -> dict[str, Any]:
    params: CustomerCreateParams = {
        "email": email,
        "name": name,
        "metadata": {"practice_id": practice_id},
    }
    return _call("a new customer", lambda: stripe_client().v1.customers.create(params))


def stripe_checkout_session_create(params: CheckoutSessionCreateParams) -> dict[str, Any]:
    return _call("a checkout session", lambda: stripe_client().v1.checkout.sessions.create(params))


def stripe_portal_session_create(*, customer_id: str, return_url: str) -> dict[str, Any]:
    params: PortalSessionCreateParams = {"customer": customer_id, "return_url": return_url}
    return _call("a portal session", lambda: stripe_client().v1.billing_portal.sessions.create(params))


def stripe_events_since(*, created_gte: int, types: list[str]) -> Iterator[dict[str, Any]]:
    """Every event of these types created since ``created_gte`` (a Unix time), newest first, page by page."""
    client = stripe_client()
    starting_after: str | None = None
    while True:
        params: EventListParams = {"created": {"gte": created_gte}, "types": types, "limit": 100}
        if starting_after is not None:
            params["starting_after"] = starting_after
        page = _call("the event list", lambda params=params: client.v1.events.list(params))
        events = page.get("data") or []
        yield from events
        if not page.get("has_more") or not events:
            return
        starting_after = str(events[-1]["id"])
