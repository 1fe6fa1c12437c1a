from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import ApiKey, Membership, Practice, User


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


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ["name", "prefix", "practice", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "practice__name", "practice__slug"]
    readonly_fields = ["prefix", "key_hash", "created_by", "created_at", "last_used_at"]
    list_select_related = ["practice"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are issued by `manage.py create_api_key` or the practice's settings page, which
        # show the secret once; an admin form has nowhere safe to show it.
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key{'s' if count != 1 else ''}.")
