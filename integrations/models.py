"""Webhook endpoints a practice registers, and every delivery of an event to them.

Events carry ids, statuses and error codes only: never a transcript, a note or a client label.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.db import models

from accounts.models import Practice, User
from accounts.tenancy import practice_ids_seen_whole_by
from config.encrypted_fields import EncryptedTextField


class WebhookEndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def visible_to(self, user: User | AnonymousUser) -> WebhookEndpointQuerySet:
        """Endpoints are managed by their practice's owners and admins; clinicians see none."""
        return self.filter(practice_id__in=practice_ids_seen_whole_by(user))


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=100, blank=True)
    # Kept decryptable because every delivery is signed with it; shown to the practice once, at creation.
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"Webhook endpoint {self.id}"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with its attempts. ``payload`` is the exact JSON that is signed and sent."""

    class Event(models.TextChoices):
        JOB_SUCCEEDED = "job.succeeded", "Job succeeded"
        JOB_FAILED = "job.failed", "Job failed"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(help_text="The event's id; the same for every endpoint and every attempt.")
    event_type = models.CharField(max_length=40, choices=Event.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # What went wrong, in our words (a status, "timed out", "redirect not followed"); never the answer's body.
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhookdelivery_unique_event"),
        ]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_recent")]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id}"
