"""The integrator API v1, mounted at /api/v1/. Paths are exactly as documented: no trailing slash."""

from __future__ import annotations

from django.urls import path

from api.audit_events import AuditEventList
from api.docs import api_docs, api_schema
from formats import api as formats_api
from jobs import api as jobs_api
from notes import api as notes_api
from sessions import api as sessions_api
from sessions import parts_api

app_name = "api"

# The session resource names its latest job, which only the jobs app may look up.
_sessions = {"annotations": jobs_api.session_annotations()}

urlpatterns = [
    path("sessions", sessions_api.SessionListCreate.as_view(**_sessions), name="sessions"),
    path("sessions/<uuid:pk>", sessions_api.SessionDetail.as_view(**_sessions), name="session"),
    path("sessions/<uuid:pk>/consent", sessions_api.SessionConsent.as_view(**_sessions), name="session_consent"),
    path("sessions/<uuid:pk>/recording", sessions_api.RecordingUpload.as_view(), name="recording"),
    path("sessions/<uuid:pk>/recording/parts", parts_api.RecordingParts.as_view(), name="recording_parts"),
    path(
        "sessions/<uuid:pk>/recording/parts/complete",
        parts_api.RecordingPartsComplete.as_view(),
        name="recording_parts_complete",
    ),
    path("sessions/<uuid:pk>/recording/parts/<str:n>", parts_api.RecordingPartPut.as_view(), name="recording_part"),
    path("sessions/<uuid:pk>/jobs", jobs_api.JobCreate.as_view(), name="session_jobs"),
    path("sessions/<uuid:pk>/transcript", sessions_api.TranscriptDetail.as_view(), name="transcript"),
    path("jobs/runner", jobs_api.JobsRunner.as_view(), name="jobs_runner"),
    path("jobs/<uuid:pk>", jobs_api.JobDetail.as_view(), name="job"),
    path("jobs/<uuid:pk>/retry", jobs_api.JobRetry.as_view(), name="job_retry"),
    path("jobs/<uuid:pk>/cancel", jobs_api.JobCancel.as_view(), name="job_cancel"),
    path("jobs/<uuid:pk>/result", jobs_api.JobResult.as_view(), name="job_result"),
    path("artifacts/<str:token>", jobs_api.ArtifactDownload.as_view(), name="artifact_download"),
    path("notes/<uuid:pk>", notes_api.NoteDetail.as_view(), name="note"),
    path("notes/<uuid:pk>/sign", notes_api.NoteSign.as_view(), name="note_sign"),
    path("notes/<uuid:pk>/addenda", notes_api.NoteAddenda.as_view(), name="note_addenda"),
    path("notes/<uuid:pk>/export", notes_api.NoteExport.as_view(), name="note_export"),
    path("templates", formats_api.TemplateListCreate.as_view(), name="templates"),
    path("templates/from-example", formats_api.TemplateFromExample.as_view(), name="templates_from_example"),
    path("templates/<slug:key>", formats_api.TemplateDetail.as_view(), name="template"),
    path("usage", jobs_api.Usage.as_view(), name="usage"),
    path("audit-events", AuditEventList.as_view(), name="audit_events"),
    path("schema", api_schema, name="schema"),
    path("docs", api_docs, name="docs"),
]
