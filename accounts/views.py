"""Practice settings pages for owners and admins: the practice's API keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.entitlements import Feature, feature_refusal
from accounts.models import ApiKey, Membership
from accounts.tenancy import current_membership, signed_in_user


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Name", help_text="What the key is for, e.g. “EHR sync”. Shown in the list."
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name


def practice_admin_membership(request: HttpRequest) -> Membership:
    """The membership of a practice owner or admin, whose practice the settings pages manage; 403 otherwise."""
    membership = current_membership(request.user)
    if membership is None or not membership.sees_whole_practice:
        raise PermissionDenied("Only the practice's owners and admins manage its integrations.")
    return membership


@never_cache
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    membership = practice_admin_membership(request)
    form = ApiKeyForm(request.POST or None)
    context: dict[str, Any] = {"practice": membership.practice}
    status = 200
    if request.method == "POST":
        # The plan's refusal (billing) leaves the form as it was; the page says why and where plans are changed.
        context["plan_refusal"] = feature_refusal(membership.practice, Feature.API_ACCESS)
        if context["plan_refusal"]:
            status = 402
        elif form.is_valid():
            key, raw_key = ApiKey.issue(
                practice=membership.practice, name=form.cleaned_data["name"], created_by=signed_in_user(request)
            )
            # Shown in this answer only: never stored, never put in a redirect or the session.
            context.update(new_key=key, raw_key=raw_key)
            form = ApiKeyForm()
        else:
            status = 400
    keys = ApiKey.objects.visible_to(request.user).filter(practice=membership.practice).select_related("created_by")
    context.update(form=form, keys=keys)
    return render(request, "accounts/api_keys.html", context, status=status)


@require_http_methods(["POST"])
def api_key_revoke(request: HttpRequest, pk: Any) -> HttpResponse:
    practice_admin_membership(request)
    key = get_object_or_404(ApiKey.objects.visible_to(request.user), pk=pk)
    if key.revoke():
        messages.success(request, f"The key “{key.name}” was revoked; requests with it are refused from now on.")
    else:
        messages.info(request, f"The key “{key.name}” was already revoked.")
    return redirect("accounts:api_keys")
