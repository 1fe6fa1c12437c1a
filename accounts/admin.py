from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.entitlements import Feature, PlanLimitExceeded, feature_require
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, Practice, User
from accounts.services import api_key_create, api_key_revoke


class MembershipInline(admin.TabularInline[Membership, Any]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class UserMembershipInline(MembershipInline):
    autocomplete_fields = ["practice"]
    fields = ["practice", "role", "created_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]  # the stubs want AbstractUser
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "memberships__role"]
    search_fields = ["email", "full_name", "memberships__practice__name"]
    readonly_fields = ["date_joined", "last_login"]
    inlines = [UserMembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin[Practice]):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug", "memberships__user__email"]
    readonly_fields = ["id", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_member_count=Count("memberships"))

    @admin.display(description="Members", ordering="_member_count")
    def member_count(self, obj: Practice) -> int:
        return int(getattr(obj, "_member_count", 0))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "practice", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__full_name", "practice__name", "practice__slug"]
    autocomplete_fields = ["user", "practice"]
    list_select_related = ["user", "practice"]


class ApiKeyAddForm(forms.ModelForm[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["practice", "name"]

    def clean_practice(self) -> Practice:
        practice: Practice = self.cleaned_data["practice"]
        try:
            feature_require(practice, Feature.API_ACCESS)
        except PlanLimitExceeded as refused:
            raise forms.ValidationError(refused.message) from None
        return practice


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ["name", "prefix", "practice", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "practice__name", "practice__slug"]
    readonly_fields = ["practice", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
    list_select_related = ["practice"]
    autocomplete_fields = ["practice"]
    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_exclude(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return self.exclude if obj is not None else None

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        # A key is never edited: it is issued, used and revoked.
        return False if obj is not None and request.method == "POST" else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        staff = request.user if isinstance(request.user, User) else None
        issued, raw_key = api_key_create(practice=obj.practice, name=obj.name, created_by=staff)
        obj.pk = issued.pk
        obj.__dict__.update({k: v for k, v in issued.__dict__.items() if not k.startswith("_")})
        request._issued_api_key = raw_key  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> HttpResponse:
        # The secret is shown on this one answer, never stored, never put in a message or a redirect.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "key": obj,
            "raw_key": getattr(request, "_issued_api_key", ""),
            "title": "API key created",
        }
        response = TemplateResponse(request, "admin/accounts/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        staff = request.user if isinstance(request.user, User) else None
        count = sum(1 for key in queryset if api_key_revoke(key=key, revoked_by=staff))
        self.message_user(request, f"Revoked {count} key{'s' if count != 1 else ''}.")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    """Read-only for staff: who was invited where; the link's token is never stored, its hash never shown."""

    list_display = ["email", "practice", "role", "sent_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "practice__name", "practice__slug"]
    list_select_related = ["practice"]
    exclude = ["token_hash"]
    readonly_fields = [
        "practice",
        "email",
        "role",
        "invited_by",
        "created_at",
        "sent_at",
        "send_count",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """The audit trail, read-only: nobody adds, changes or deletes an event here (only the retention purge
    deletes, after AUDIT_RETENTION_DAYS)."""

    list_display = ["occurred_at", "action", "outcome", "object_type", "object_id", "actor_label", "practice_id", "ip"]
    list_filter = ["action", "outcome", "object_type"]
    search_fields = ["=practice_id", "=object_id", "=session_id", "=actor_user_id", "=actor_api_key_id", "=request_id"]
    date_hierarchy = "occurred_at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
