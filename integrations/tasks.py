"""django-q2 entry points: thin, they take ids and call the service."""

from __future__ import annotations

import uuid

from integrations.webhooks import webhook_deliver


def deliver_webhook(delivery_id: str) -> None:
    webhook_deliver(uuid.UUID(delivery_id))
