from __future__ import annotations

from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("upload/<uuid:session_id>/", views.upload_and_process, name="upload"),
    path("start/<uuid:session_id>/", views.start, name="start"),
    path("finish-recording/<uuid:session_id>/", views.finish_recording, name="finish_recording"),
    path("<uuid:pk>/retry/", views.retry, name="retry"),
    path("<uuid:pk>/cancel/", views.cancel, name="cancel"),
    path("<uuid:pk>/status/", views.status, name="status"),
]
