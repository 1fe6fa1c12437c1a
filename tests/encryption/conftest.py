"""One row of every kind that holds PHI, written with distinctive words, and the raw rows as the database keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.models import Model

from accounts.models import IdempotencyRecord, Practice, User
from config.column_encryption import Column, batches
from integrations.models import WebhookEndpoint
from notes.models import Addendum, Note, NoteRevision
from sessions.models import ClinicalSession, Recording, Transcript
from tests.factories import ClinicalSessionFactory, NoteFactory

# Words no column holds unless it holds PHI in plaintext (no digits: ids and times are full of them).
WORDS = "Quokka saffron ünïcode"
FILE_NAME = "Quokka-Jones-intake.m4a"
WEBHOOK_SECRET = "whsec_quokka_saffron_secret"


@pytest.fixture
def key_a() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def key_b() -> str:
    return Fernet.generate_key().decode()


def sections(words: str) -> list[dict[str, Any]]:
    return [
        {"key": "subjective", "heading": "Subjective", "text": f"Client reports {words}.", "evidence": [], "flags": []},
        {"key": "plan", "heading": "Plan", "text": "", "evidence": [], "flags": []},
    ]


@dataclass(frozen=True)
class PhiRows:
    session: ClinicalSession
    transcript: Transcript
    recording: Recording
    note: Note
    revision: NoteRevision
    addendum: Addendum
    endpoint: WebhookEndpoint
    idempotency: IdempotencyRecord


def make_phi_rows(practice: Practice, clinician: User, words: str = WORDS) -> PhiRows:
    """One of each encrypted column, through the ORM's create and update paths both."""
    session = ClinicalSessionFactory(practice=practice, clinician=clinician)
    transcript = Transcript.objects.create(
        session=session,
        media_sha256="0" * 64,
        model="stub",
        text=f"They said {words}",
        segments=[{"id": 0, "start": 0.0, "end": 2.5, "speaker": "A", "text": f"They said {words}"}],
    )
    recording = Recording.objects.create(
        session=session,
        file="practices/x/recording.webm",
        original_filename=FILE_NAME,
        content_type="audio/webm",
        bytes=10,
        sha256="1" * 64,
        duration_seconds=2.5,
        codec="opus",
        container="webm",
    )
    note = NoteFactory(session=session, sections=sections(words))
    pending = {"draft_ref": "job-2", "sections": sections(f"draft {words}"), "created_at": "2025-01-02T03:04:05Z"}
    Note.objects.filter(pk=note.pk).update(pending_draft=pending, pending_draft_ref="job-2")
    note.refresh_from_db()
    revision = NoteRevision.objects.create(
        note=note, version=1, sections=sections(words), source=NoteRevision.Source.AI_DRAFT, draft_ref="job-1"
    )
    addendum = Addendum.objects.create(note=note, text=f"Addendum: {words}", author=clinician)
    endpoint = WebhookEndpoint.objects.create(practice=practice, url="https://example.org/hook", secret=WEBHOOK_SECRET)
    idempotency = IdempotencyRecord.objects.create(practice=practice, scope="user:1", key="k-1", request_hash="2" * 64)
    IdempotencyRecord.objects.filter(pk=idempotency.pk).update(
        status_code=201, response_body={"id": str(session.pk), "client_label": words}
    )
    idempotency.refresh_from_db()
    return PhiRows(session, transcript, recording, note, revision, addendum, endpoint, idempotency)


def read_back(rows: PhiRows) -> dict[str, Any]:
    """Every encrypted value of the rows, read afresh through the ORM."""
    transcript = Transcript.objects.get(pk=rows.transcript.pk)
    note = Note.objects.get(pk=rows.note.pk)
    return {
        "transcript.text": transcript.text,
        "transcript.segments": transcript.segments,
        "recording.original_filename": Recording.objects.get(pk=rows.recording.pk).original_filename,
        "note.sections": note.sections,
        "note.pending_draft": note.pending_draft,
        "revision.sections": NoteRevision.objects.get(pk=rows.revision.pk).sections,
        "addendum.text": Addendum.objects.get(pk=rows.addendum.pk).text,
        "endpoint.secret": WebhookEndpoint.objects.get(pk=rows.endpoint.pk).secret,
        "idempotency.response_body": IdempotencyRecord.objects.get(pk=rows.idempotency.pk).response_body,
    }


ENCRYPTED_MODELS: list[type[Model]] = [
    Transcript,
    Recording,
    Note,
    NoteRevision,
    Addendum,
    WebhookEndpoint,
    IdempotencyRecord,
]


def raw_table(model: type[Model]) -> list[tuple[Any, ...]]:
    """Every row of the model's table as the database returns it, beneath the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
        return list(cursor.fetchall())


def raw_values(model: type[Model], field_name: str) -> list[str]:
    """The stored values of one column, as the database holds them."""
    return [value for rows in batches(connection, Column.of(model, field_name)) for _, value in rows]
