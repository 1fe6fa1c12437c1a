"""Plans, each practice's subscription, the audio minutes it used, minutes granted by staff, and the Stripe
events received (each applied once)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.utils import timezone

from accounts.models import Practice, User
from accounts.tenancy import practice_ids_visible_to


class Plan(models.Model):
    """What a subscription buys. Seeded (basic, pro, premium) by a data migration; staff edit them in the admin."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    stripe_price_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="The Stripe price (price_…). Empty: the STRIPE_PRICE_<KEY> setting is used.",
    )
    price_label = models.CharField(
        max_length=40, blank=True, help_text="Shown on the billing page, e.g. “$49 / month”."
    )
    audio_minutes = models.PositiveIntegerField(help_text="Audio minutes per billing period.")
    seats = models.PositiveIntegerField(help_text="Members the practice may have.")
    custom_formats = models.BooleanField(default=False, help_text="The practice may define its own note formats.")
    api_access = models.BooleanField(default=False, help_text="The practice may use the integrator API.")
    webhooks = models.BooleanField(default=False, help_text="The practice may register webhook endpoints.")
    is_active = models.BooleanField(default=True, help_text="Offered on the billing page.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.name

    @property
    def price_id(self) -> str:
        """The Stripe price: the one set here, else the deployment's ``STRIPE_PRICE_<KEY>``."""
        return self.stripe_price_id or str(getattr(settings, f"STRIPE_PRICE_{self.key.upper()}", "") or "")

    def includes(self, feature: str) -> bool:
        return bool(getattr(self, feature, False))


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def visible_to(self, user: User | AnonymousUser) -> SubscriptionQuerySet:
        return self.filter(practice_id__in=practice_ids_visible_to(user))


class Subscription(models.Model):
    """A practice's standing: its own trial, or the Stripe subscription it pays (as Stripe last told us)."""

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment overdue"
        UNPAID = "unpaid", "Unpaid"
        INCOMPLETE = "incomplete", "Waiting for the first payment"
        INCOMPLETE_EXPIRED = "incomplete_expired", "First payment failed"
        PAUSED = "paused", "Paused"
        CANCELED = "canceled", "Canceled"

    # Statuses a Stripe subscription is billed in: a practice keeps such a subscription rather than take
    # another one's news (an old, canceled subscription's late events).
    LIVE_STATUSES = (Status.ACTIVE, Status.PAST_DUE, Status.UNPAID, Status.PAUSED)

    practice = models.OneToOneField(Practice, on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.TRIALING)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    # Trial: the trial's days. Stripe: the subscription's current billing period.
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    cancel_at_period_end = models.BooleanField(default=False)
    # When the subscription first became past due; the grace period (BILLING_GRACE_DAYS) counts from it.
    past_due_since = models.DateTimeField(null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True, db_index=True)
    latest_invoice_url = models.URLField(max_length=500, blank=True)
    latest_invoice_created = models.DateTimeField(null=True, blank=True)
    # The `created` of the newest Stripe event whose news has been applied, and when Stripe was last asked.
    stripe_event_created = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["practice__name"]

    def __str__(self) -> str:
        return f"{self.practice} — {self.get_status_display()}"

    def grace_ends_at(self) -> dt.datetime | None:
        if self.status != self.Status.PAST_DUE or self.past_due_since is None:
            return None
        return self.past_due_since + dt.timedelta(days=settings.BILLING_GRACE_DAYS)

    def period_at(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The billing period ``now`` falls in. Stripe's renewal reaches us by webhook (or the reconciliation);
        until it has, a period that ran out is followed by one of the same length, so usage never piles up
        across a renewal we have not heard of yet."""
        start, end = self.current_period_start, self.current_period_end
        if self.status == self.Status.TRIALING:
            # The trial's days, as far as staff may have extended them.
            return start, max(end, self.trial_ends_at or end)
        if end <= start:
            return start, end
        length = end - start
        while now >= end:
            start, end = end, end + length
        return start, end


class UsageRecord(models.Model):
    """The audio minutes of one successful transcription, recorded once per job."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="usage_records")
    # The pipeline run that transcribed the audio. Not a foreign key: billing does not know jobs, and usage
    # outlives a deleted session.
    job_id = models.UUIDField(unique=True)
    seconds = models.FloatField()
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["practice", "recorded_at"], name="usage_practice_time")]

    def __str__(self) -> str:
        return f"{self.seconds / 60:.1f} min for job {self.job_id}"


class UsageGrant(models.Model):
    """Minutes added by staff to a practice's allowance for the billing period in which they were granted."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="usage_grants")
    minutes = models.PositiveIntegerField()
    note = models.CharField(max_length=300, help_text="Why, for the next person who looks.")
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-granted_at"]

    def __str__(self) -> str:
        return f"+{self.minutes} min for {self.practice}"


class StripeEvent(models.Model):
    """A Stripe event, stored once (its id is unique) when its signature was verified or the reconciliation
    fetched it; ``processed_at`` is set in the transaction that applied it."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        RECONCILIATION = "reconciliation", "Reconciliation"

    id = models.BigAutoField(primary_key=True)
    stripe_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # The practice it was applied to, when it concerned one of ours.
    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "Stripe event"

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
