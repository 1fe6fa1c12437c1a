from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from api.errors import not_found
from config import health

admin.site.site_header = "Sessionscribe staff"
admin.site.site_title = "Sessionscribe staff"
admin.site.index_title = "Support and operations"
# The app list beside every page takes the width the change lists need at 1280 px; the index lists the apps.
admin.site.enable_nav_sidebar = False
# Staff sign in through the same login as everyone, with its second factor and lockout, never a password alone.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="clinical_sessions:list", permanent=False)),
    path("accounts/", include("accounts.urls")),
    # django-allauth's names (login, re-authentication, two-factor pages), on the same paths.
    path("accounts/", include("accounts.allauth_urls")),
    path("sessions/", include("sessions.urls")),
    path("formats/", include("formats.urls")),
    path("notes/", include("notes.urls")),
    path("jobs/", include("jobs.urls")),
    path("integrations/", include("integrations.urls")),
    path("billing/", include("billing.urls")),
    path("api/v1/", include("config.api_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Last: any other path is the product's 404 (or the API's envelope), in the demo's debug mode too.
    re_path(r"^(?P<unmatched>.*)$", not_found, name="not_found"),
]

# JSON error envelopes under /api/, the normal error pages elsewhere.
handler400 = "api.errors.handler400"
handler403 = "api.errors.handler403"
handler404 = "api.errors.handler404"
handler500 = "api.errors.handler500"
