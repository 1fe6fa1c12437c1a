"""Log lines are JSON objects naming the request, job and practice, in web and worker alike, and never carry PHI:
PHI-looking text pushed through every path (creation, upload, the pipeline, note saves, API errors, a crash, a
failed webhook) appears in no captured line."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from config.log_context import LogContextFilter
from config.log_format import PhiSafeJsonFormatter
from config.settings import LOGGING as PROJECT_LOGGING
from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookEndpoint
from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession, Transcript
from tests.api.conftest import ApiClient
from tests.conftest import AUDIO

pytestmark = pytest.mark.django_db

CLIENT_LABEL = "Zelda Quixote-Marchbanks"
FILENAME = "Zelda Quixote-Marchbanks intake.webm"
NOTE_TEXT = "Zelda reports hearing voices since the divorce from Mortimer Quixote."
CRASH_TEXT = "could not parse Zelda Quixote-Marchbanks DOB 1961-04-12"


class _Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def captured_logs():
    """Every record any logger writes during the test, formatted as production formats it (JSON, with the
    context filter), at debug level."""
    options = PROJECT_LOGGING["formatters"]["json"]  # type: ignore[index]
    formatter = PhiSafeJsonFormatter(
        fmt=options["fmt"], rename_fields=options["rename_fields"], timestamp=False, datefmt=options["datefmt"]
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield _Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_a_log_line_is_one_json_object_with_the_request_and_practice(captured_logs, alice_key, practice):
    api = ApiClient(alice_key)
    response = api.get(f"/api/v1/sessions/{uuid.uuid4()}", headers={"X-Request-ID": "req-abc-123"})
    assert response.status_code == 404
    [line] = [r for r in captured_logs.records() if r["logger"] == "api.errors"]
    assert line["message"] == "API answered 404 not_found"
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-abc-123"
    assert line["practice_id"] == str(practice.pk)
    assert line["job_id"] is None
    assert "time" in line


def test_a_worker_line_names_the_job_and_its_practice(captured_logs, monkeypatch, recorded_session, alice, settings):
    def crash(job, lease):
        raise RuntimeError(CRASH_TEXT)

    monkeypatch.setitem(__import__("jobs.tasks", fromlist=["STAGES"]).STAGES, Job.Stage.PREPARE, crash)
    job = job_start(session=recorded_session, requested_by=alice)
    run_job(str(job.pk))
    [line] = [r for r in captured_logs.records() if r["logger"] == "jobs.runner"]
    assert line["job_id"] == str(job.pk)
    assert line["practice_id"] == str(recorded_session.practice_id)
    assert line["request_id"] is None
    assert CRASH_TEXT not in captured_logs.text


def test_a_line_logged_while_a_chunk_is_transcribed_in_another_thread_names_the_job(
    captured_logs, monkeypatch, recorded_session, alice
):
    from jobs.providers.stub import StubTranscriber

    original = StubTranscriber.transcribe

    def transcribe(self, *args, **kwargs):
        logging.getLogger("tests.transcriber").info("chunk sent from %s", threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StubTranscriber, "transcribe", transcribe)
    job = job_start(session=recorded_session, requested_by=alice)
    run_job(str(job.pk))
    lines = [r for r in captured_logs.records() if r["logger"] == "tests.transcriber"]
    assert lines
    assert all(line["job_id"] == str(job.pk) for line in lines)
    assert all(line["practice_id"] == str(recorded_session.practice_id) for line in lines)


def test_a_traceback_is_logged_without_the_exceptions_message(captured_logs):
    try:
        raise ValueError(CRASH_TEXT)
    except ValueError:
        logging.getLogger("tests").exception("parsing failed")
    [line] = captured_logs.records()
    assert "builtins.ValueError" in str(line["exc_info"])
    assert "test_logging.py" in str(line["exc_info"])
    assert "Zelda" not in captured_logs.text


def test_phi_pushed_through_every_path_never_reaches_the_logs(
    captured_logs, alice, alice_key, practice, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.AI_MODE = "stub"
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)
    WebhookEndpoint.objects.create(practice=practice, url="http://127.0.0.1:9/refused", secret=webhooks.new_secret())
    page = Client()
    page.force_login(alice)
    api = ApiClient(alice_key)

    # A session created on the page, with a label, and refused once through the API (a control character).
    page.post(
        reverse("clinical_sessions:create"),
        {"client_label": CLIENT_LABEL, "occurred_at": "2025-03-14T10:30", "note_type": "soap"},
    )
    session = ClinicalSession.objects.get(client_label=CLIENT_LABEL)
    refused = api.post_json(
        "/api/v1/sessions", {"client_label": CLIENT_LABEL + "\x1b[2J", "occurred_at": "nope", "note_type": "soap"}
    )
    assert refused.status_code == 400

    # Uploads: a real recording with the name in its filename, and a file that is not audio.
    data = (AUDIO / "dialogue_short.webm").read_bytes()
    bad = api.post(
        f"/api/v1/sessions/{session.pk}/recording",
        {"file": SimpleUploadedFile(FILENAME, CLIENT_LABEL.encode() * 50)},
    )
    assert bad.status_code in {400, 415}
    with django_capture_on_commit_callbacks(execute=True):
        page.post(
            reverse("jobs:upload", kwargs={"session_id": session.pk}),
            {"file": SimpleUploadedFile(FILENAME, data, content_type="audio/webm")},
        )
    job = Job.objects.get(session=session)

    # The pipeline, in stub mode, to the end, and its webhook to a destination that refuses.
    with django_capture_on_commit_callbacks(execute=True):
        run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    for delivery in WebhookDelivery.objects.all():
        webhooks.webhook_deliver(delivery.pk)
    assert WebhookDelivery.objects.exists()

    # The clinician's edits: saved through the API, and a stale save refused with the same text.
    note = Note.objects.get(session=session)
    saved = api.patch_json(
        f"/api/v1/notes/{note.pk}", {"version": note.version, "sections": [{"key": "plan", "text": NOTE_TEXT}]}
    )
    assert saved.status_code == 200
    stale = api.patch_json(f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": NOTE_TEXT}]})
    assert stale.status_code == 409

    # A crash in an API view whose exception quotes what it was given.
    def crash(*args, **kwargs):
        raise ValueError(CRASH_TEXT)

    monkeypatch.setattr("sessions.api.session_update", crash)
    crashed = api.patch_json(f"/api/v1/sessions/{session.pk}", {"client_label": CLIENT_LABEL})
    assert crashed.status_code == 500

    transcript = Transcript.objects.get(session=session)
    note.refresh_from_db()
    phi = [CLIENT_LABEL, "Zelda", "Quixote", "Mortimer", NOTE_TEXT, CRASH_TEXT, FILENAME]
    phi += [segment["text"].strip() for segment in transcript.segments if len(segment["text"].strip()) > 12]
    phi += [text.strip()[:40] for text in note.section_texts().values() if len(text.strip()) > 12]
    logged = captured_logs.text
    assert captured_logs.records(), "the paths logged nothing at all: the capture is not working"
    leaked = [text for text in phi if text and text in logged]
    assert leaked == []
