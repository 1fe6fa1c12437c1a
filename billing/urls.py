from __future__ import annotations

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.billing_page, name="page"),
    path("checkout/", views.checkout, name="checkout"),
    path("portal/", views.portal, name="portal"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
