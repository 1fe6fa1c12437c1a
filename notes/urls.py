from __future__ import annotations

from django.urls import path

from notes import views

app_name = "notes"

urlpatterns = [
    path("open/<uuid:session_id>/", views.open_note, name="open"),
    path("<uuid:pk>/", views.edit_note, name="edit"),
    path("<uuid:pk>/draft/accept/", views.accept_draft, name="accept_draft"),
    path("<uuid:pk>/draft/dismiss/", views.dismiss_draft, name="dismiss_draft"),
    path("<uuid:pk>/sign/", views.sign_note, name="sign"),
    path("<uuid:pk>/flags/fix/", views.fix_flag, name="fix_flag"),
    path("<uuid:pk>/flags/dismiss/", views.dismiss_flag, name="dismiss_flag"),
    path("<uuid:pk>/addenda/", views.add_addendum, name="add_addendum"),
    path("<uuid:pk>/export", views.export_note, name="export"),
    path("<uuid:pk>/revisions/", views.revision_list, name="revisions"),
    path("<uuid:pk>/revisions/<int:version>/", views.revision_detail, name="revision"),
]
