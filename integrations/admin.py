from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from integrations.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ["id", "practice", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["practice__name", "practice__slug", "url"]
    list_select_related = ["practice"]
    # The signing secret belongs to the practice; staff never need to read it.
    exclude = ["secret"]
    readonly_fields = ["practice", "created_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Endpoints are registered on the practice's webhooks page, which shows the secret once.
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ["id", "event_type", "endpoint", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["=event_id", "=endpoint__id", "endpoint__practice__name"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
