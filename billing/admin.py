from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, FloatField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from billing.models import Plan, StripeEvent, Subscription, UsageGrant, UsageRecord
from billing.stripe_api import StripeUnavailable
from billing.stripe_events import stripe_event_process


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
    list_display = [
        "name",
        "key",
        "effective_price",
        "audio_minutes",
        "seats",
        "custom_formats",
        "api_access",
        "webhooks",
        "is_active",
    ]
    list_editable = ["audio_minutes", "seats", "custom_formats", "api_access", "webhooks", "is_active"]
    fields = [
        "key",
        "name",
        "price_label",
        "stripe_price_id",
        "effective_price",
        "audio_minutes",
        "seats",
        "custom_formats",
        "api_access",
        "webhooks",
        "is_active",
        "position",
    ]
    readonly_fields = ["effective_price"]

    @admin.display(description="Stripe price in use")
    def effective_price(self, obj: Plan) -> str:
        return obj.price_id or "— not configured: set STRIPE_PRICE_" + obj.key.upper()

    def has_delete_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        # Subscriptions point at plans; retire one by unticking "is active".
        return False


def _used_seconds() -> Subquery:
    period = UsageRecord.objects.filter(
        practice_id=OuterRef("practice_id"),
        recorded_at__gte=OuterRef("current_period_start"),
        recorded_at__lt=OuterRef("current_period_end"),
    )
    return Subquery(
        period.order_by().values("practice_id").annotate(total=Sum("seconds")).values("total")[:1],
        output_field=FloatField(),
    )


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = [
        "practice",
        "plan",
        "status",
        "current_period_start",
        "current_period_end",
        "minutes_used",
        "trial_ends_at",
        "grant_link",
    ]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["practice__name", "practice__slug", "=stripe_customer_id", "=stripe_subscription_id"]
    list_select_related = ["practice", "plan"]
    autocomplete_fields = ["practice"]
    stripe_fields = (
        "stripe_customer_id",
        "stripe_subscription_id",
        "past_due_since",
        "latest_invoice_url",
        "latest_invoice_created",
        "stripe_event_created",
        "synced_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = ["minutes_used", *stripe_fields]
    fieldsets = (
        (None, {"fields": ("practice", "plan", "status", "minutes_used")}),
        (
            "Period",
            {
                "fields": ("trial_ends_at", "current_period_start", "current_period_end", "cancel_at_period_end"),
                "description": "A paid subscription's plan, status and period come from Stripe: its next event or "
                "the hourly reconciliation sets them again. Extend a trial here; grant minutes with "
                "“Usage grants”.",
            },
        ),
        ("Stripe", {"fields": stripe_fields}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return super().get_queryset(request).annotate(_used=Coalesce(_used_seconds(), 0.0))

    @admin.display(description="Minutes used this period", ordering="_used")
    def minutes_used(self, obj: Subscription) -> str:
        used = getattr(obj, "_used", None)
        if used is None:
            return "—"
        return f"{used / 60:.1f}"

    @admin.display(description="Grant")
    def grant_link(self, obj: Subscription) -> str:
        url = reverse("admin:billing_usagegrant_add") + f"?practice={obj.practice_id}"
        return format_html('<a href="{}">Grant minutes</a>', url)


@admin.register(UsageGrant)
class UsageGrantAdmin(admin.ModelAdmin[UsageGrant]):
    list_display = ["practice", "minutes", "note", "granted_by", "granted_at"]
    search_fields = ["practice__name", "practice__slug", "note"]
    list_select_related = ["practice", "granted_by"]
    autocomplete_fields = ["practice"]
    fields = ["practice", "minutes", "note", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]

    def save_model(self, request: HttpRequest, obj: UsageGrant, form: Any, change: bool) -> None:
        if not change:
            obj.granted_by = request.user if isinstance(request.user, User) else None
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request: HttpRequest, obj: UsageGrant | None = None) -> bool:
        # A grant is a record: to take minutes back, add nothing more, or delete it with its reason in mind.
        return False if obj is not None and request.method == "POST" else super().has_change_permission(request, obj)


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin[UsageRecord]):
    list_display = ["practice", "job_id", "minutes", "recorded_at"]
    search_fields = ["practice__name", "=job_id"]
    list_select_related = ["practice"]
    date_hierarchy = "recorded_at"
    readonly_fields = ["practice", "job_id", "seconds", "recorded_at"]
    show_full_result_count = False

    @admin.display(description="Minutes", ordering=F("seconds"))
    def minutes(self, obj: UsageRecord) -> str:
        return f"{obj.seconds / 60:.2f}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UsageRecord | None = None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin[StripeEvent]):
    list_display = ["stripe_id", "type", "created", "source", "processed_at", "practice", "outcome", "attempts"]
    list_filter = ["type", "source", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=stripe_id", "practice__name"]
    list_select_related = ["practice"]
    date_hierarchy = "created"
    readonly_fields = [field.name for field in StripeEvent._meta.fields]
    actions = ["apply_now"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StripeEvent | None = None) -> bool:
        return False

    @admin.action(description="Apply the selected unprocessed events now")
    def apply_now(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        applied = failed = 0
        for pk in queryset.filter(processed_at__isnull=True).values_list("pk", flat=True):
            try:
                stripe_event_process(pk)
            except StripeUnavailable:
                failed += 1
            else:
                applied += 1
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Applied {applied} event(s); {failed} could not reach Stripe.", level)
