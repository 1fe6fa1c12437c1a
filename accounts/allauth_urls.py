"""The URL names django-allauth reverses, without a namespace, on the same paths as the pages under
/accounts/: its login (also ``accounts:login``), its re-authentication, and the two-factor pages under
/accounts/2fa/. Names it reverses for pages this product does not have (sign-up, email management) are not
routed; the login and password pages stay the ones in accounts/urls.py."""

from __future__ import annotations

from allauth.account import views as allauth_views
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views

urlpatterns = [
    path("login/", allauth_views.login, name="account_login"),
    path("logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    path("inactive/", allauth_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", allauth_views.reauthenticate, name="account_reauthenticate"),
    path("password/change/", views.password_change, name="account_change_password"),
    path("password/reset/", views.password_reset, name="account_reset_password"),
    path("2fa/", include("allauth.mfa.urls")),
]
