from __future__ import annotations

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<uuid:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<uuid:pk>/delete/", views.webhook_delete, name="webhook_delete"),
]
