from __future__ import annotations

from allauth.account import views as allauth_views
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import audit_views, retention_views, views

app_name = "accounts"

urlpatterns = [
    # allauth's login: the password, then the second factor when the account has one (templates/account/).
    path("login/", allauth_views.login, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.password_change, name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="password_change_done",
    ),
    path("password/reset/", views.password_reset, name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<uuid:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("practice/", views.practice_settings, name="practice_settings"),
    path("practice/retention/", retention_views.practice_retention, name="retention"),
    path("audit/", audit_views.audit_log, name="audit"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/role/", views.member_role, name="member_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<uuid:pk>/resend/", views.invitation_resend_view, name="invitation_resend"),
    path("invitations/<uuid:pk>/revoke/", views.invitation_revoke_view, name="invitation_revoke"),
    path("invitations/accept/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]
