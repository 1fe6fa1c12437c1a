"""A loopback fake of the Stripe API, for the calls billing makes, so that the real ``stripe`` SDK runs.

Routes (form-encoded requests, Stripe's JSON objects and error bodies back): ``POST /v1/customers``,
``GET /v1/customers/{id}``, ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``,
``POST /v1/billing_portal/sessions``, ``GET /v1/subscriptions/{id}``, ``GET /v1/subscriptions``,
``GET /v1/events`` (``created[gte]``, ``types[]``, ``limit``, ``starting_after``) and ``GET /v1/events/{id}``.

What happens at Stripe outside those calls is driven by the test (``checkout_complete``, ``payment_fail``,
``subscription_cancel``, …): each changes the fake's objects and returns the events Stripe would send, shaped
as Stripe's (API version 2026-02-25.clover: a subscription's period is on its items, an invoice's subscription
under ``parent.subscription_details``). ``webhook_delivery`` signs an event as Stripe does.

For the demo, ``python -m tests.fakes.stripe_server`` runs it with a checkout page and a portal page a browser
can use, and posts the events to the app's webhook (see docs/operations.md).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import hmac
import html
import itertools
import json
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

from tests.fakes.server import Answer, FakeAPIServer, Incoming

API_VERSION = "2026-02-25.clover"
DEFAULT_PRICES = {"price_basic": 2900, "price_pro": 7900, "price_premium": 19900}
MONTH = 30 * 24 * 3600


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<unix time>,v1=<HMAC-SHA256 of "t.body">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_delivery(event: Mapping[str, Any], secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and the signature header of a delivery of ``event``."""
    body = json.dumps(event, indent=2).encode()  # Stripe's bodies are pretty-printed; the bytes are what is signed
    return body, stripe_signature(body, secret, timestamp)


def form_to_nested(fields: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``, ``types[]=x``) back to the nested params the SDK was given."""
    result: dict[str, Any] = {}
    for name, values in fields.items():
        keys = name.replace("]", "").split("[")
        node: Any = result
        for index, key in enumerate(keys):
            last = index == len(keys) - 1
            if key == "":
                node.extend(values)
                break
            if last:
                node[key] = values[0] if len(values) == 1 else list(values)
                break
            following = keys[index + 1]
            node = node.setdefault(key, [] if following == "" else {})
    nested: dict[str, Any] = _lists(result)
    return nested


def _lists(node: Any) -> Any:
    """``{"0": a, "1": b}`` (an indexed list) to ``[a, b]``."""
    if isinstance(node, dict):
        node = {key: _lists(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


class FakeStripe(FakeAPIServer):
    request_id_header = "request-id"

    def __init__(
        self,
        *,
        api_key: str = "sk_test_fake_stripe",
        webhook_secret: str = "whsec_fake_stripe",  # noqa: S107 — a fake's
        prices: Mapping[str, int] | None = None,
        webhook_url: str | None = None,
    ) -> None:
        super().__init__(api_key=api_key)
        self.webhook_secret = webhook_secret
        self.prices = dict(prices or DEFAULT_PRICES)
        # Where the demo's pages post the events they cause; tests deliver events themselves.
        self.webhook_url = webhook_url
        self.customers: dict[str, dict[str, Any]] = {}
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        # The parameters of each ``GET /v1/events``, for tests to check what was asked.
        self.event_queries: list[dict[str, Any]] = []
        self._state = threading.RLock()
        self._numbers = itertools.count(1)
        # Stripe's clock, in whole seconds; each event is a second after the one before, so their order is known.
        self.clock = int(time.time()) - 3600

    # --- Identity, time ------------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._numbers):06d}"

    def tick(self) -> int:
        with self._state:
            self.clock = max(self.clock + 1, int(time.time()) - 3600)
            return self.clock

    # --- The API -------------------------------------------------------------------------------------------

    def is_authorized(self, headers: Mapping[str, str]) -> bool:
        # The API's routes check the key; the demo's pages are for a browser, which has none.
        return True

    def error_body(self, status: int, message: str) -> object:
        kinds = {401: "invalid_request_error", 404: "invalid_request_error", 429: "invalid_request_error"}
        error: dict[str, Any] = {"message": message, "type": kinds.get(status, "api_error")}
        if status == 404:
            error["code"] = "resource_missing"
        return {"error": error}

    def answer(self, request: Incoming) -> Answer:
        path, method = request.path.rstrip("/"), request.method
        if path.startswith("/v1/"):
            if request.headers.get("authorization", "") != f"Bearer {self.api_key}":
                return self.error(401, "Invalid API Key provided.")
            params = form_to_nested(request.fields if method == "POST" else request.query)
            with self._state:
                return self._api(method, path.split("/")[2:], params)
        return self._page(method, path.split("/")[1:], request)

    def _api(self, method: str, parts: list[str], params: dict[str, Any]) -> Answer:
        route = (method, parts[0] if parts else "", len(parts))
        if route == ("POST", "customers", 1):
            return self._ok(self.customer_create(params))
        if route == ("GET", "customers", 2):
            return self._found("customer", self.customers.get(parts[1]), parts[1])
        if route == ("POST", "checkout", 2) and parts[1] == "sessions":
            return self._checkout_create(params)
        if route == ("GET", "checkout", 3) and parts[1] == "sessions":
            return self._found("checkout.session", self.checkout_sessions.get(parts[2]), parts[2])
        if route == ("POST", "billing_portal", 2) and parts[1] == "sessions":
            return self._portal_create(params)
        if route == ("GET", "subscriptions", 2):
            return self._found("subscription", self.subscriptions.get(parts[1]), parts[1])
        if route == ("GET", "subscriptions", 1):
            wanted = params.get("customer")
            subscriptions = [s for s in self.subscriptions.values() if wanted in (None, s["customer"])]
            return self._ok(self._list(sorted(subscriptions, key=lambda s: -s["created"]), "/v1/subscriptions", params))
        if route == ("GET", "events", 1):
            return self._ok(self._events(params))
        if route == ("GET", "events", 2):
            found = next((event for event in self.events if event["id"] == parts[1]), None)
            return self._found("event", found, parts[1])
        return self.error(404, f"Unrecognized request URL ({method}: /v1/{'/'.join(parts)}).")

    def _ok(self, body: Any) -> Answer:
        return 200, copy.deepcopy(body), {}

    def _found(self, kind: str, obj: dict[str, Any] | None, object_id: str) -> Answer:
        if obj is None:
            return self.error(404, f"No such {kind}: '{object_id}'")
        return self._ok(obj)

    def _list(self, items: list[dict[str, Any]], url: str, params: dict[str, Any]) -> dict[str, Any]:
        limit = int(params.get("limit", 10))
        after = params.get("starting_after")
        if after:
            ids = [item["id"] for item in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    def _events(self, params: dict[str, Any]) -> dict[str, Any]:
        self.event_queries.append(params)
        created = params.get("created") or {}
        types = params.get("types") or ([params["type"]] if params.get("type") else None)
        chosen = [
            event
            for event in reversed(self.events)  # newest first, as Stripe lists them
            if ("gte" not in created or event["created"] >= int(created["gte"]))
            and (types is None or event["type"] in types)
        ]
        return self._list(chosen, "/v1/events", params)

    def customer_create(self, params: Mapping[str, Any]) -> dict[str, Any]:
        customer: dict[str, Any] = {
            "id": self._id("cus"),
            "object": "customer",
            "created": self.tick(),
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": dict(params.get("metadata") or {}),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def _checkout_create(self, params: dict[str, Any]) -> Answer:
        items = params.get("line_items") or []
        if params.get("mode") != "subscription" or not items:
            return self.error(400, "This fake takes subscription checkouts with line_items.")
        price = items[0].get("price")
        if price not in self.prices:
            return self.error(400, f"No such price: '{price}'")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            return self.error(400, f"No such customer: '{customer}'")
        session_id = self._id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "customer_email": params.get("customer_email"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": dict(params.get("metadata") or {}),
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "subscription": None,
            "created": self.tick(),
            "expires_at": self.clock + 24 * 3600,
            "livemode": False,
            "url": f"{self.url}/checkout/{session_id}",
            # Not part of Stripe's answer (line items are fetched separately); kept for completing the checkout.
            "_price": price,
            "_subscription_metadata": dict((params.get("subscription_data") or {}).get("metadata") or {}),
        }
        self.checkout_sessions[session_id] = session
        return self._ok(self._public(session))

    def _portal_create(self, params: dict[str, Any]) -> Answer:
        customer = params.get("customer")
        if customer not in self.customers:
            return self.error(400, f"No such customer: '{customer}'")
        session_id = self._id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "created": self.tick(),
            "livemode": False,
            "url": f"{self.url}/portal/{session_id}",
        }
        self.portal_sessions[session_id] = session
        return self._ok(session)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in obj.items() if not key.startswith("_")}

    # --- What happens at Stripe, driven by the test --------------------------------------------------------

    def _event(self, kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(self._public(obj))}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": self._id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.tick(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        self.events.append(event)
        return copy.deepcopy(event)

    def _price(self, price: str) -> dict[str, Any]:
        return {
            "id": price,
            "object": "price",
            "active": True,
            "currency": "usd",
            "product": f"prod_{price.removeprefix('price_')}",
            "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
            "type": "recurring",
            "unit_amount": self.prices[price],
        }

    def _invoice(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        item = subscription["items"]["data"][0]
        invoice_id = self._id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "status": "paid" if paid else "open",
            "amount_due": item["price"]["unit_amount"],
            "amount_paid": item["price"]["unit_amount"] if paid else 0,
            "currency": "usd",
            "created": self.tick(),
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
            },
            "livemode": False,
        }
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def checkout_complete(self, session_id: str) -> list[dict[str, Any]]:
        """The customer paid on Checkout's page: a customer (if new), an active subscription and its first
        paid invoice. Returns the events, in the order Stripe creates them."""
        with self._state:
            session = self.checkout_sessions[session_id]
            customer = session["customer"] or self.customer_create({"email": session["customer_email"]})["id"]
            # The period starts now, as Stripe's does (the events' own clock runs behind, one second apiece).
            start = int(time.time())
            subscription_id = self._id("sub")
            subscription = {
                "id": subscription_id,
                "object": "subscription",
                "billing_cycle_anchor": start,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": None,
                "collection_method": "charge_automatically",
                "created": start,
                "currency": "usd",
                "customer": customer,
                "ended_at": None,
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self._id("si"),
                            "object": "subscription_item",
                            "created": start,
                            "current_period_start": start,
                            "current_period_end": start + MONTH,
                            "metadata": {},
                            "price": self._price(session["_price"]),
                            "quantity": 1,
                            "subscription": subscription_id,
                        }
                    ],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/subscription_items?subscription={subscription_id}",
                },
                "latest_invoice": None,
                "livemode": False,
                "metadata": dict(session["_subscription_metadata"]),
                "start_date": start,
                "status": "active",
                "trial_end": None,
                "trial_start": None,
            }
            self.subscriptions[subscription_id] = subscription
            invoice = self._invoice(subscription, paid=True)
            session.update(
                status="complete", payment_status="paid", customer=customer, subscription=subscription_id, url=None
            )
            return [
                self._event("customer.subscription.created", subscription),
                self._event("invoice.paid", invoice),
                self._event("checkout.session.completed", session),
            ]

    def _updated(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        subscription = self.subscriptions[subscription_id]
        previous = {key: subscription.get(key) for key in changes}
        subscription.update(changes)
        return self._event("customer.subscription.updated", subscription, previous)

    def payment_fail(self, subscription_id: str) -> list[dict[str, Any]]:
        """The renewal's payment failed: the subscription becomes past_due."""
        with self._state:
            subscription = self.subscriptions[subscription_id]
            self._renew_period(subscription)
            invoice = self._invoice(subscription, paid=False)
            return [self._event("invoice.payment_failed", invoice), self._updated(subscription_id, status="past_due")]

    def payment_succeed(self, subscription_id: str) -> list[dict[str, Any]]:
        """The open invoice was paid (a new card, a retry): active again."""
        with self._state:
            subscription = self.subscriptions[subscription_id]
            invoice = self.invoices[subscription["latest_invoice"]]
            invoice.update(status="paid", amount_paid=invoice["amount_due"])
            return [self._event("invoice.paid", invoice), self._updated(subscription_id, status="active")]

    def renew(self, subscription_id: str) -> list[dict[str, Any]]:
        """A month went by and the renewal was paid: a new period."""
        with self._state:
            subscription = self.subscriptions[subscription_id]
            previous = copy.deepcopy(subscription["items"])
            self._renew_period(subscription)
            invoice = self._invoice(subscription, paid=True)
            updated = self._event("customer.subscription.updated", subscription, {"items": previous})
            return [updated, self._event("invoice.paid", invoice)]

    def _renew_period(self, subscription: dict[str, Any]) -> None:
        item = subscription["items"]["data"][0]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] = item["current_period_start"] + MONTH

    def price_change(self, subscription_id: str, price: str) -> list[dict[str, Any]]:
        """A plan change in the portal."""
        with self._state:
            subscription = self.subscriptions[subscription_id]
            previous = copy.deepcopy(subscription["items"])
            subscription["items"]["data"][0]["price"] = self._price(price)
            return [self._event("customer.subscription.updated", subscription, {"items": previous})]

    def subscription_cancel(self, subscription_id: str) -> list[dict[str, Any]]:
        """Canceled at once (in the portal, or by Stripe after the last failed retry)."""
        with self._state:
            now = self.tick()
            subscription = self.subscriptions[subscription_id]
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            return [self._event("customer.subscription.deleted", subscription)]

    def forget_subscription(self, subscription_id: str) -> None:
        """Stripe no longer has it (a test-mode purge): retrieving it is a 404."""
        with self._state:
            self.subscriptions.pop(subscription_id, None)

    def signed(self, event: Mapping[str, Any], timestamp: int | None = None) -> tuple[bytes, str]:
        return webhook_delivery(event, self.webhook_secret, timestamp)

    # --- The demo's pages ----------------------------------------------------------------------------------

    def _page(self, method: str, parts: list[str], request: Incoming) -> Answer:
        with self._state:
            if parts[:1] == ["checkout"] and len(parts) >= 2 and parts[1] in self.checkout_sessions:
                session = self.checkout_sessions[parts[1]]
                if method == "POST" and parts[2:] == ["pay"]:
                    if session["status"] == "open":
                        self._deliver(self.checkout_complete(session["id"]))
                    return 303, "", {"Location": session["success_url"]}
                price = session["_price"]
                amount = f"${self.prices[price] / 100:.2f}"
                return self._html(
                    "Fake Stripe Checkout",
                    f"<p>Subscribe to <strong>{html.escape(price)}</strong> for {amount} a month.</p>"
                    f'<form method="post" action="/checkout/{session["id"]}/pay"><button>Pay</button></form>'
                    f'<p><a href="{html.escape(session["cancel_url"])}">Back without paying</a></p>',
                )
            if parts[:1] == ["portal"] and len(parts) >= 2 and parts[1] in self.portal_sessions:
                portal = self.portal_sessions[parts[1]]
                live = [
                    subscription
                    for subscription in self.subscriptions.values()
                    if subscription["customer"] == portal["customer"] and subscription["status"] != "canceled"
                ]
                if method == "POST" and parts[2:] == ["cancel"]:
                    for subscription in live:
                        self._deliver(self.subscription_cancel(subscription["id"]))
                    return 303, "", {"Location": portal["return_url"]}
                cancel = (
                    f'<form method="post" action="/portal/{portal["id"]}/cancel"><button>Cancel the subscription'
                    "</button></form>"
                    if live
                    else "<p>No active subscription.</p>"
                )
                return self._html(
                    "Fake Stripe customer portal",
                    f'{cancel}<p><a href="{html.escape(portal["return_url"])}">Return</a></p>',
                )
        return self.error(404, "Not found.")

    @staticmethod
    def _html(title: str, body: str) -> Answer:
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1>{body}"
        return 200, page, {"Content-Type": "text/html; charset=utf-8"}

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        """Post the events to the app's webhook, signed, as Stripe would (the demo only)."""
        if not self.webhook_url:
            return
        for event in events:
            body, signature = self.signed(event)
            request = urllib.request.Request(  # noqa: S310 — a loopback address given on the command line
                self.webhook_url,
                data=body,
                headers={"Content-Type": "application/json", "Stripe-Signature": signature},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    pass
            except OSError as error:
                print(f"webhook delivery of {event['type']} failed: {error}")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Stripe API for the demo.")
    parser.add_argument("--api-key", default="sk_test_fake_stripe")
    parser.add_argument("--webhook-secret", default="whsec_fake_stripe")
    parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/billing/stripe/webhook/")
    arguments = parser.parse_args()
    fake = FakeStripe(
        api_key=arguments.api_key, webhook_secret=arguments.webhook_secret, webhook_url=arguments.webhook_url
    )
    with fake:
        print(f"Fake Stripe at {fake.url}; posting events to {fake.webhook_url}")  # noqa: T201
        print(  # noqa: T201
            "Run the app against it:\n"
            f"  STRIPE_SECRET_KEY={fake.api_key} STRIPE_WEBHOOK_SECRET={fake.webhook_secret} "
            f"STRIPE_API_BASE={fake.url} STRIPE_PRICE_BASIC=price_basic STRIPE_PRICE_PRO=price_pro "
            "STRIPE_PRICE_PREMIUM=price_premium ./dev run\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
