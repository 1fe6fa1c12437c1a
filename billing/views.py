"""The billing page (plan, usage, seats; Checkout and the Customer Portal for owners and admins) and the
endpoint Stripe posts its events to."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Membership
from accounts.reauthentication import recent_login_required
from accounts.tenancy import current_membership, signed_in_user
from billing.models import Plan, Subscription
from billing.services import (
    PlanNotPurchasable,
    StripeUnavailable,
    billing_enabled,
    billing_state,
    checkout_start,
    has_paid_subscription,
    minutes,
    portal_start,
    seats_used,
    usage_by_day,
    usage_seconds,
)
from billing.webhooks import WebhookRefused, webhook_receive

logger = logging.getLogger(__name__)

STRIPE_UNAVAILABLE = "Stripe could not be reached just now; nothing was changed. Try again in a minute."
# Where the page's Checkout and portal forms end up after our redirect: the browser applies the page's CSP
# form-action to that redirect too.
STRIPE_PAGE_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")


def _membership(request: HttpRequest) -> Membership:
    membership = current_membership(request.user)
    if membership is None:
        raise PermissionDenied("Your account is not a member of any practice.")
    return membership


def _manager(request: HttpRequest) -> Membership:
    membership = _membership(request)
    if not membership.sees_whole_practice:
        raise PermissionDenied("Only the practice's owners and admins manage its billing.")
    return membership


@dataclass(frozen=True)
class ChartBar:
    day: Any
    minutes: float
    x: float
    y: float
    height: float


CHART_HEIGHT = 100
BAR_PITCH = 10
BAR_WIDTH = 7
MAX_CHART_DAYS = 62


def _chart(days: list[tuple[Any, float]], *, first_day: dt.date, last_day: dt.date) -> dict[str, Any]:
    """Minutes per day as SVG bars, in viewBox units, drawn by the server (no script). The chart spans the whole
    period, so the days still to come are the empty space on its right."""
    peak = max((value for _, value in days), default=0.0)
    scale = CHART_HEIGHT / peak if peak > 0 else 0.0
    bars = []
    for index, (day, value) in enumerate(days):
        height = round(value * scale, 2)
        # A day with some use stays visible however small next to the peak.
        if value > 0:
            height = max(height, 1.5)
        bars.append(ChartBar(day=day, minutes=value, x=index * BAR_PITCH + 1.5, y=CHART_HEIGHT - height, height=height))
    span = min(max((last_day - first_day).days + 1, len(days), 1), MAX_CHART_DAYS)
    return {
        "bars": bars,
        "width": span * BAR_PITCH,
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
        "peak": peak,
        "total": round(sum(value for _, value in days), 2),
        "first_day": first_day,
        "last_day": last_day,
    }


@never_cache
@require_http_methods(["GET"])
def billing_page(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    practice = membership.practice
    context: dict[str, Any] = {
        "practice": practice,
        "manages": membership.sees_whole_practice,
        "billing_enabled": billing_enabled(),
        "checkout": request.GET.get("checkout", ""),
    }
    if not context["billing_enabled"]:
        return render(request, "billing/billing.html", context)
    state = billing_state(practice)
    used = minutes(usage_seconds(practice.pk, state.period_start, state.period_end))
    subscription: Subscription = state.subscription
    context.update(
        state=state,
        subscription=subscription,
        minutes_used=used,
        minutes_left=max(round(state.minutes_limit - used, 2), 0),
        meter_low=round(state.minutes_limit * 0.75, 2),
        meter_high=round(state.minutes_limit * 0.9, 2),
        seats_used=seats_used(practice),
        chart=_chart(
            usage_by_day(practice, state.period_start, state.period_end),
            first_day=timezone.localdate(state.period_start),
            last_day=timezone.localdate(state.period_end - dt.timedelta(microseconds=1)),
        ),
        plans=Plan.objects.filter(is_active=True),
        paid=has_paid_subscription(practice),
        trial_days_left=(
            max((subscription.trial_ends_at - timezone.now()).days, 0) if subscription.trial_ends_at else None
        ),
        now=timezone.now(),
    )
    response = render(request, "billing/billing.html", context)
    setattr(response, "_csp_update", {"form-action": _stripe_page_origins()})  # noqa: B010 — django-csp's hook
    return response


def _stripe_page_origins() -> list[str]:
    origins = list(STRIPE_PAGE_ORIGINS)
    base = urlsplit(str(settings.STRIPE_API_BASE or ""))
    if base.scheme and base.netloc:  # a fake Stripe's pages, for tests and the demo
        origins.append(f"{base.scheme}://{base.netloc}")
    return origins


def _page_url(request: HttpRequest, **query: str) -> str:
    url = request.build_absolute_uri(reverse("billing:page"))
    return f"{url}?{urlencode(query)}" if query else url


@require_http_methods(["POST"])
@recent_login_required()
def checkout(request: HttpRequest) -> HttpResponse:
    """Send an owner or admin to Stripe Checkout for the chosen plan (303 to Stripe's page)."""
    membership = _manager(request)
    if not billing_enabled():
        messages.info(request, "Billing is off on this server: every feature is available.")
        return redirect("billing:page")
    plan = get_object_or_404(Plan.objects.filter(is_active=True), key=request.POST.get("plan", ""))
    practice = membership.practice
    if has_paid_subscription(practice):
        messages.info(request, "The practice already has a subscription: change its plan in the billing portal.")
        return redirect("billing:page")
    try:
        url = checkout_start(
            practice=practice,
            plan=plan,
            user=signed_in_user(request),
            success_url=_page_url(request, checkout="success"),
            cancel_url=_page_url(request, checkout="canceled"),
        )
    except PlanNotPurchasable:
        messages.error(request, f"The {plan.name} plan cannot be bought yet: its Stripe price is not configured.")
        return redirect("billing:page")
    except StripeUnavailable as error:
        logger.warning("checkout for practice %s: %s", practice.pk, error)
        messages.error(request, STRIPE_UNAVAILABLE)
        return redirect("billing:page")
    return HttpResponseRedirect(url, status=303)


@require_http_methods(["POST"])
@recent_login_required()
def portal(request: HttpRequest) -> HttpResponse:
    """Send an owner or admin to Stripe's Customer Portal: payment method, invoices, plan, cancelation."""
    membership = _manager(request)
    if not billing_enabled():
        return redirect("billing:page")
    try:
        url = portal_start(practice=membership.practice, return_url=_page_url(request))
    except StripeUnavailable as error:
        logger.warning("portal for practice %s: %s", membership.practice_id, error)
        messages.error(request, STRIPE_UNAVAILABLE)
        return redirect("billing:page")
    if url is None:
        messages.info(request, "The practice has no billing account yet: choose a plan first.")
        return redirect("billing:page")
    return HttpResponseRedirect(url, status=303)


@csrf_exempt
@login_not_required
@require_http_methods(["POST"])
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's deliveries. Verified on the raw body; stored once; applied by a task. 400 stores nothing."""
    if not billing_enabled():
        return JsonResponse({"error": "Billing is off on this server."}, status=404)
    try:
        received = webhook_receive(request.body, request.headers.get("Stripe-Signature", ""))
    except WebhookRefused as refused:
        logger.warning("stripe webhook refused: %s", refused)
        return JsonResponse({"error": "The delivery could not be verified."}, status=400)
    return JsonResponse({"received": True, "id": received.stripe_id, "stored": received.stored})
