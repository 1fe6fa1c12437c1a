from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config import health

admin.site.site_header = "Sessionscribe staff"
admin.site.site_title = "Sessionscribe staff"
admin.site.index_title = "Support and operations"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="clinical_sessions:list", permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("sessions/", include("sessions.urls")),
    path("notes/", include("notes.urls")),
    path("jobs/", include("jobs.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
