"""The webhooks page of a practice's owners and admins: endpoints, their secret (shown once) and the history
of deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.entitlements import Feature, feature_refusal
from accounts.reauthentication import recent_login_required
from accounts.tenancy import signed_in_user
from accounts.views import practice_admin_membership
from integrations.forms import WebhookEndpointForm
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.webhooks import new_secret

RECENT_DELIVERIES = 10
HISTORY_LENGTH = 100


@never_cache
@require_http_methods(["GET", "POST"])
@recent_login_required(minutes=10)
def webhooks(request: HttpRequest) -> HttpResponse:
    membership = practice_admin_membership(request)
    form = WebhookEndpointForm(request.POST or None)
    context: dict[str, Any] = {"practice": membership.practice}
    status = 200
    if request.method == "POST":
        # The plan's refusal (billing) leaves the form as it was; the page says why and where plans are changed.
        context["plan_refusal"] = feature_refusal(membership.practice, Feature.WEBHOOKS)
        if context["plan_refusal"]:
            status = 402
        elif form.is_valid():
            endpoint = WebhookEndpoint.objects.create(
                practice=membership.practice,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                secret=new_secret(),
                created_by=signed_in_user(request),
            )
            # Shown in this answer only, so it never sits in a redirect or the session.
            context["new_endpoint"] = endpoint
            form = WebhookEndpointForm()
        else:
            status = 400
    recent = WebhookDelivery.objects.order_by("-created_at")[:RECENT_DELIVERIES]
    endpoints = (
        WebhookEndpoint.objects.visible_to(request.user)
        .filter(practice=membership.practice)
        .select_related("created_by")
        .prefetch_related(Prefetch("deliveries", queryset=recent, to_attr="recent_deliveries"))
    )
    context.update(form=form, endpoints=endpoints)
    return render(request, "integrations/webhooks.html", context, status=status)


@never_cache
@require_http_methods(["GET"])
def webhook_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    practice_admin_membership(request)
    endpoint = get_object_or_404(WebhookEndpoint.objects.visible_to(request.user), pk=pk)
    deliveries = endpoint.deliveries.order_by("-created_at")[:HISTORY_LENGTH]
    return render(request, "integrations/webhook_detail.html", {"endpoint": endpoint, "deliveries": deliveries})


@require_http_methods(["POST"])
@recent_login_required(minutes=10)
def webhook_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    practice_admin_membership(request)
    endpoint = get_object_or_404(WebhookEndpoint.objects.visible_to(request.user), pk=pk)
    endpoint.delete()
    messages.success(request, "The webhook endpoint was removed; it receives no more events.")
    return redirect("integrations:webhooks")
