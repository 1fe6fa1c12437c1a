from __future__ import annotations

from django.urls import path

from formats import views

app_name = "formats"

urlpatterns = [
    path("", views.format_list, name="list"),
    path("new/", views.format_create_view, name="create"),
    path("new/from-example/", views.format_from_example, name="from_example"),
    path("default/", views.format_default, name="default"),
    path("<int:pk>/edit/", views.format_edit, name="edit"),
    path("<int:pk>/retire/", views.format_retire_view, name="retire"),
    path("<int:pk>/restore/", views.format_restore_view, name="restore"),
    path("<int:pk>/delete/", views.format_delete_view, name="delete"),
    path("<int:pk>/move/", views.format_move_view, name="move"),
]
