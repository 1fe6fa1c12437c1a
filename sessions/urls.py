from __future__ import annotations

from django.urls import path

from sessions import consent_views, recorder_views, views

app_name = "clinical_sessions"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("new/", views.session_create_view, name="create"),
    path("<uuid:pk>/", views.session_detail, name="detail"),
    path("<uuid:pk>/edit/", views.session_edit, name="edit"),
    path("<uuid:pk>/delete/", views.session_delete_view, name="delete"),
    path("<uuid:pk>/recording/", views.recording_upload, name="upload"),
    path("<uuid:pk>/transcript/speakers/", views.transcript_speakers, name="speakers"),
    path("<uuid:pk>/consent/", consent_views.session_consent, name="consent"),
    path("<uuid:pk>/recording/parts/discard/", recorder_views.recording_parts_discard_view, name="discard_recording"),
    path("consent-script/", consent_views.consent_script, name="consent_script"),
]
