"""A practice's standing and what it allows: its trial or subscription, the minutes it used, the checks made
before a job starts, a member is invited or a feature is used; recording usage; starting Checkout and the
Customer Portal.

Without ``STRIPE_SECRET_KEY`` billing is off (self-hosted mode): every check passes and nothing is limited.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.entitlements import Feature, LimitReason, PlanLimitExceeded
from accounts.models import Invitation, Membership, Practice, User
from billing.models import Plan, Subscription, UsageGrant, UsageRecord
from billing.stripe_api import (
    StripeUnavailable,
    billing_enabled,
    stripe_checkout_session_create,
    stripe_customer_create,
    stripe_portal_session_create,
)

__all__ = [
    "BillingState",
    "Feature",
    "LimitReason",
    "PlanLimitExceeded",
    "StripeUnavailable",
    "UsageSummary",
    "billing_enabled",
    "billing_state",
    "checkout_start",
    "feature_enabled",
    "feature_require",
    "gate_job_start",
    "portal_start",
    "seats_available",
    "subscription_start_trial",
    "usage_by_day",
    "usage_grant_create",
    "usage_record",
    "usage_summary",
]

ALL_FEATURES = frozenset(Feature.values)


# --- The trial ---------------------------------------------------------------------------------------------


def subscription_start_trial(practice: Practice) -> Subscription:
    """Give a new practice its trial (``TRIAL_DAYS`` days, ``TRIAL_MINUTES`` minutes, every feature). A practice
    that already has a trial or a subscription keeps it: calling this again changes nothing."""
    now = timezone.now()
    subscription, _ = Subscription.objects.get_or_create(
        practice=practice,
        defaults={
            "status": Subscription.Status.TRIALING,
            "trial_ends_at": now + dt.timedelta(days=settings.TRIAL_DAYS),
            "current_period_start": now,
            "current_period_end": now + dt.timedelta(days=settings.TRIAL_DAYS),
        },
    )
    return subscription


def practice_start_trial(practice: Practice) -> None:
    """The hook accounts calls with every practice it creates."""
    subscription_start_trial(practice)


def subscription_of(practice: Practice) -> Subscription:
    """The practice's subscription row. A practice made by a path that did not start its trial (the admin, a
    script) gets it now, the first time billing looks at it."""
    subscription = Subscription.objects.select_related("plan").filter(practice=practice).first()
    return subscription if subscription is not None else subscription_start_trial(practice)


def _subscription_locked(practice: Practice) -> Subscription:
    """The row, locked until the caller's transaction ends: checks that count usage run one at a time."""
    subscription_of(practice)
    return Subscription.objects.select_for_update(of=("self",)).select_related("plan").get(practice=practice)


# --- Standing and usage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingState:
    """What the practice may do now. ``refusal`` is set when it may not process at all (no subscription)."""

    subscription: Subscription
    plan: Plan | None
    status: str
    period_start: dt.datetime
    period_end: dt.datetime
    minutes_limit: int
    seats_limit: int
    features: frozenset[str]
    refusal: str = ""

    @property
    def is_trial(self) -> bool:
        return self.status == Subscription.Status.TRIALING


def billing_state(practice: Practice, *, subscription: Subscription | None = None) -> BillingState:
    subscription = subscription or subscription_of(practice)
    now = timezone.now()
    start, end = subscription.period_at(now)
    granted = granted_minutes(practice.pk, start, end)
    status = subscription.status
    plan = subscription.plan
    if status == Subscription.Status.TRIALING:
        ended = subscription.trial_ends_at is not None and now >= subscription.trial_ends_at
        return BillingState(
            subscription=subscription,
            plan=None,
            status=status,
            period_start=start,
            period_end=end,
            minutes_limit=settings.TRIAL_MINUTES + granted,
            seats_limit=settings.TRIAL_SEATS,
            features=ALL_FEATURES,
            refusal="The practice's trial has ended: choose a plan to keep processing recordings." if ended else "",
        )
    grace_ends = subscription.grace_ends_at()
    paying = status == Subscription.Status.ACTIVE or (grace_ends is not None and now < grace_ends)
    refusal = ""
    if plan is None:
        refusal = "The practice has no plan: choose one to process recordings."
    elif not paying:
        refusal = (
            "The practice's subscription payment is overdue: update the payment method to keep processing recordings."
            if status in (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID)
            else "The practice has no active subscription: choose a plan to process recordings."
        )
    features = frozenset(feature for feature in ALL_FEATURES if plan is not None and plan.includes(feature))
    return BillingState(
        subscription=subscription,
        plan=plan,
        status=status,
        period_start=start,
        period_end=end,
        minutes_limit=(plan.audio_minutes if plan is not None else 0) + granted,
        seats_limit=plan.seats if plan is not None else 0,
        features=features,
        refusal=refusal,
    )


def usage_seconds(practice_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> float:
    total = UsageRecord.objects.filter(practice_id=practice_id, recorded_at__gte=start, recorded_at__lt=end).aggregate(
        total=Sum("seconds")
    )["total"]
    return float(total or 0.0)


def granted_minutes(practice_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> int:
    total = UsageGrant.objects.filter(practice_id=practice_id, granted_at__gte=start, granted_at__lt=end).aggregate(
        total=Sum("minutes")
    )["total"]
    return int(total or 0)


def minutes(seconds: float) -> float:
    """Minutes as shown and reported: to the hundredth."""
    return round(seconds / 60, 2)


def seats_used(practice: Practice) -> int:
    return Membership.objects.filter(practice=practice).count()


def usage_by_day(practice: Practice, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.date, float]]:
    """Minutes per day from ``start`` to ``end`` (each day of the period, zero included), in the server's time
    zone, the last day being today at the latest."""
    rows = (
        UsageRecord.objects.filter(practice=practice, recorded_at__gte=start, recorded_at__lt=end)
        .annotate(day=TruncDate("recorded_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(total=Sum("seconds"))
    )
    totals = {row["day"]: float(row["total"]) for row in rows}
    first = timezone.localdate(start)
    last = min(timezone.localdate(end - dt.timedelta(microseconds=1)), timezone.localdate())
    days = []
    day = first
    while day <= last:
        days.append((day, minutes(totals.get(day, 0.0))))
        day += dt.timedelta(days=1)
    return days


@dataclass(frozen=True)
class UsageSummary:
    """What ``GET /api/v1/usage`` answers with billing on."""

    plan: str | None
    status: str
    period_start: dt.datetime
    period_end: dt.datetime
    minutes_used: float
    minutes_limit: int
    seats_limit: int
    seats_used: int


def usage_summary(practice: Practice) -> UsageSummary:
    state = billing_state(practice)
    return UsageSummary(
        plan="trial" if state.is_trial else (state.plan.key if state.plan is not None else None),
        status=state.status,
        period_start=state.period_start,
        period_end=state.period_end,
        minutes_used=minutes(usage_seconds(practice.pk, state.period_start, state.period_end)),
        minutes_limit=state.minutes_limit,
        seats_limit=state.seats_limit,
        seats_used=seats_used(practice),
    )


def usage_record(*, practice_id: uuid.UUID, job_id: uuid.UUID, seconds: float) -> bool:
    """Record a job's transcribed audio, once: a second call for the same job (a retry, a re-run, a reclaimed
    worker's) changes nothing and returns False. Recorded whether billing is on or not, so turning it on later
    finds the history."""
    try:
        with transaction.atomic():
            _, created = UsageRecord.objects.get_or_create(
                job_id=job_id, defaults={"practice_id": practice_id, "seconds": max(float(seconds), 0.0)}
            )
    except IntegrityError:
        return False
    return created


def usage_grant_create(*, practice: Practice, minutes: int, note: str, granted_by: User | None) -> UsageGrant:
    """Staff add minutes to the practice's allowance for the current billing period."""
    return UsageGrant.objects.create(practice=practice, minutes=minutes, note=note, granted_by=granted_by)


# --- The checks --------------------------------------------------------------------------------------------


def _refuse_unless_subscribed(state: BillingState) -> None:
    if state.refusal:
        raise PlanLimitExceeded(LimitReason.NO_SUBSCRIPTION, state.refusal, {"status": state.status})


def gate_job_start(
    practice: Practice, *, audio_seconds: float = 0.0, in_flight_seconds: Callable[[], float] | None = None
) -> None:
    """Raise PlanLimitExceeded unless the practice may start a job that will bill ``audio_seconds``.

    Refused: without a subscription (trial over, canceled, unpaid past the grace period), with more members than
    its seats, when its minutes are used up, or when this recording would go past them, counting the minutes of
    the jobs already under way (``in_flight_seconds``, asked once the practice's row is locked: run this inside
    the transaction that creates the job, so two starts are checked one after the other)."""
    if not billing_enabled():
        return
    state = billing_state(practice, subscription=_subscription_locked(practice))
    _refuse_unless_subscribed(state)
    members = seats_used(practice)
    if members > state.seats_limit:
        raise PlanLimitExceeded(
            LimitReason.SEATS_EXHAUSTED,
            f"The practice has {members} members but its plan has {state.seats_limit} seats: remove members or "
            "choose a larger plan.",
            {"seats_used": members, "seats": state.seats_limit},
        )
    used = usage_seconds(practice.pk, state.period_start, state.period_end)
    committed = used + (in_flight_seconds() if in_flight_seconds is not None else 0.0)
    allowance = state.minutes_limit * 60
    if committed >= allowance or committed + audio_seconds > allowance:
        remaining = max(allowance - committed, 0.0)
        details = {
            "minutes_used": minutes(used),
            "minutes_limit": state.minutes_limit,
            "minutes_remaining": minutes(remaining),
            "minutes_needed": math.ceil(audio_seconds / 60),
        }
        if committed >= allowance:
            message = f"The practice has used its {state.minutes_limit} audio minutes for this period."
        else:
            message = (
                f"This recording needs {details['minutes_needed']} audio minutes but the practice has "
                f"{math.floor(remaining / 60)} of its {state.minutes_limit} left this period."
            )
        raise PlanLimitExceeded(LimitReason.MINUTES_EXHAUSTED, message, details)


def feature_require(practice: Practice, feature: Feature | str) -> None:
    """Raise PlanLimitExceeded unless the practice's plan includes ``feature``."""
    if not billing_enabled():
        return
    state = billing_state(practice)
    _refuse_unless_subscribed(state)
    if feature not in state.features:
        label = Feature(feature).label
        raise PlanLimitExceeded(
            LimitReason.FEATURE_NOT_IN_PLAN,
            f"{label} is not part of the practice's plan.",
            {"feature": str(feature)},
        )


def feature_enabled(practice: Practice, feature: Feature | str) -> bool:
    try:
        feature_require(practice, feature)
    except PlanLimitExceeded:
        return False
    return True


def seats_available(practice: Practice) -> bool:
    """Whether one more member fits in the practice's plan, its members and the invitations still open counted
    (asked before an invitation is sent or resent)."""
    if not billing_enabled():
        return True
    state = billing_state(practice)
    invited = Invitation.objects.open().filter(practice=practice, expires_at__gt=timezone.now()).count()
    return not state.refusal and seats_used(practice) + invited < state.seats_limit


# --- Checkout and the Customer Portal ----------------------------------------------------------------------


class PlanNotPurchasable(Exception):
    """The plan has no Stripe price configured, or is no longer offered."""


def _customer_id(practice: Practice, email: str) -> str:
    subscription = subscription_of(practice)
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    customer = stripe_customer_create(email=email, name=practice.name, practice_id=str(practice.pk))
    # Only set if still empty, so that two clicks at once keep one customer on our side.
    Subscription.objects.filter(pk=subscription.pk, stripe_customer_id="").update(stripe_customer_id=customer["id"])
    subscription.refresh_from_db(fields=["stripe_customer_id"])
    return subscription.stripe_customer_id


def checkout_start(*, practice: Practice, plan: Plan, user: User, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout session subscribing the practice to ``plan``; returns the address to send the user to.
    Raises PlanNotPurchasable, or StripeUnavailable when Stripe cannot be reached."""
    price = plan.price_id
    if not plan.is_active or not price:
        raise PlanNotPurchasable(plan.key)
    reference = str(practice.pk)
    session = stripe_checkout_session_create(
        {
            "mode": "subscription",
            "customer": _customer_id(practice, user.email),
            "client_reference_id": reference,
            "line_items": [{"price": price, "quantity": 1}],
            "metadata": {"practice_id": reference, "plan": plan.key},
            "subscription_data": {"metadata": {"practice_id": reference, "plan": plan.key}},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
    )
    return str(session["url"])


def portal_start(*, practice: Practice, return_url: str) -> str | None:
    """A Customer Portal session (payment method, invoices, plan changes, cancelation); None when the practice
    has never been a Stripe customer. Raises StripeUnavailable when Stripe cannot be reached."""
    customer = subscription_of(practice).stripe_customer_id
    if not customer:
        return None
    return str(stripe_portal_session_create(customer_id=customer, return_url=return_url)["url"])


def has_paid_subscription(practice: Practice) -> bool:
    """A live Stripe subscription: changing plans then goes through the portal, not a second Checkout."""
    subscription = subscription_of(practice)
    return bool(subscription.stripe_subscription_id) and subscription.status in Subscription.LIVE_STATUSES
