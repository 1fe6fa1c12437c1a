"""The migrations that introduced encryption encrypt what was stored in plaintext before them, and migrating back
decrypts it again."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as installed_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import IdempotencyRecord
from config.column_encryption import encrypt_columns
from integrations.models import WebhookEndpoint
from notes.models import Addendum, Note, NoteRevision
from sessions.models import Recording, Transcript
from tests.encryption.conftest import (
    ENCRYPTED_MODELS,
    FILE_NAME,
    WEBHOOK_SECRET,
    WORDS,
    make_phi_rows,
    raw_table,
    raw_values,
    sections,
)

BEFORE = [
    ("accounts", "0006_practice_time_zone"),
    ("clinical_sessions", "0006_clinicalsession_review_state"),
    ("notes", "0005_sessions_review_state_from_their_notes"),
    ("integrations", "0001_webhooks"),
]


def _migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    """Migrate to ``targets`` (the latest schema without) and return the models of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _plaintext_rows(apps: Any) -> dict[str, Any]:
    """One row of each kind, written by the models as they were before encryption."""
    practice = apps.get_model("accounts", "Practice").objects.create(name="Old", slug="old")
    user = apps.get_model("accounts", "User").objects.create(email="old@example.test")
    session = apps.get_model("clinical_sessions", "ClinicalSession").objects.create(
        practice_id=practice.pk, clinician_id=user.pk, client_label="A", occurred_at="2025-01-01T10:00:00Z"
    )
    transcript = apps.get_model("clinical_sessions", "Transcript").objects.create(
        session_id=session.pk,
        media_sha256="0" * 64,
        model="stub",
        text=f"They said {WORDS}",
        segments=[{"id": 0, "start": 0.0, "end": 1.0, "speaker": "A", "text": f"They said {WORDS}"}],
    )
    recording = apps.get_model("clinical_sessions", "Recording").objects.create(
        session_id=session.pk,
        file="practices/x/recording.webm",
        original_filename=FILE_NAME,
        content_type="audio/webm",
        bytes=10,
        sha256="1" * 64,
        duration_seconds=1.0,
        codec="opus",
        container="webm",
    )
    note = apps.get_model("notes", "Note").objects.create(
        session_id=session.pk,
        note_type="soap",
        template_name="SOAP",
        sections=sections(WORDS),
        pending_draft={"draft_ref": "job-9", "sections": sections(f"draft {WORDS}"), "created_at": "2025-01-02"},
    )
    revision = apps.get_model("notes", "NoteRevision").objects.create(
        note_id=note.pk, version=1, sections=sections(WORDS), source="ai_draft"
    )
    addendum = apps.get_model("notes", "Addendum").objects.create(note_id=note.pk, text=f"Addendum: {WORDS}")
    endpoint = apps.get_model("integrations", "WebhookEndpoint").objects.create(
        practice_id=practice.pk, url="https://example.org/hook", secret=WEBHOOK_SECRET
    )
    answer = apps.get_model("accounts", "IdempotencyRecord").objects.create(
        practice_id=practice.pk,
        scope="user:1",
        key="k-1",
        request_hash="2" * 64,
        status_code=201,
        response_body={"client_label": WORDS},
    )
    return {
        "transcript": transcript.pk,
        "recording": recording.pk,
        "note": note.pk,
        "revision": revision.pk,
        "addendum": addendum.pk,
        "endpoint": endpoint.pk,
        "answer": answer.pk,
    }


def _holds_plaintext() -> list[str]:
    return [model.__name__ for model in ENCRYPTED_MODELS if "quokka" in repr(raw_table(model)).lower()]


@pytest.mark.django_db(transaction=True)
def test_rows_stored_before_encryption_are_encrypted_by_the_migrations_and_decrypted_going_back():
    try:
        # given rows stored in plaintext before encryption
        pks = _plaintext_rows(_migrate(BEFORE))
        assert len(_holds_plaintext()) == len(ENCRYPTED_MODELS)
        # when the migrations run
        _migrate()
        # then the tables hold only ciphertext, which reads as it was written
        assert _holds_plaintext() == []
        transcript = Transcript.objects.get(pk=pks["transcript"])
        note = Note.objects.get(pk=pks["note"])
        assert transcript.text == f"They said {WORDS}"
        assert transcript.segments[0]["text"] == f"They said {WORDS}"
        assert Recording.objects.get(pk=pks["recording"]).original_filename == FILE_NAME
        assert note.sections == sections(WORDS)
        assert note.pending_draft["sections"] == sections(f"draft {WORDS}")
        assert note.pending_draft_ref == "job-9"
        assert NoteRevision.objects.get(pk=pks["revision"]).sections == sections(WORDS)
        assert Addendum.objects.get(pk=pks["addendum"]).text == f"Addendum: {WORDS}"
        assert WebhookEndpoint.objects.get(pk=pks["endpoint"]).secret == WEBHOOK_SECRET
        assert IdempotencyRecord.objects.get(pk=pks["answer"]).response_body == {"client_label": WORDS}
        # and going back decrypts them for the models of before
        old = _migrate(BEFORE)
        assert len(_holds_plaintext()) == len(ENCRYPTED_MODELS)
        assert old.get_model("notes", "Note").objects.get(pk=pks["note"]).sections == sections(WORDS)
    finally:
        # Back to the latest schema, for the tests that follow on this database.
        _migrate()


@pytest.mark.django_db
def test_an_interrupted_encryption_run_again_encrypts_only_what_is_left(alice, practice):
    rows = make_phi_rows(practice, alice)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notes_addendum SET text = %s", ["left in plaintext"])
    sections_before = raw_values(Note, "sections")

    fields = [("notes", "Addendum", "text"), ("notes", "Note", "sections")]
    encrypt_columns(installed_apps, SimpleNamespace(connection=connection), fields)

    assert Addendum.objects.get(pk=rows.addendum.pk).text == "left in plaintext"
    assert raw_values(Note, "sections") == sections_before
