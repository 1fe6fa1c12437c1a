"""The columns that hold PHI keep only ciphertext: on SQLite and on PostgreSQL, through every write path; values read
back as they were written, and a value that cannot be decrypted is an error that says where and why."""

from __future__ import annotations

import pytest
from django.core.exceptions import FieldError
from django.db import connection

from config import crypto
from config.encrypted_fields import FieldDecryptionError
from notes.models import Addendum, Note
from sessions.models import Transcript
from tests.encryption.conftest import (
    ENCRYPTED_MODELS,
    FILE_NAME,
    WEBHOOK_SECRET,
    WORDS,
    make_phi_rows,
    raw_table,
    raw_values,
    read_back,
    sections,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ENCRYPTED_MODELS, ids=lambda model: model.__name__)
def test_the_raw_tables_hold_no_plaintext(alice, practice, model):
    make_phi_rows(practice, alice)

    dumped = repr(raw_table(model))

    for plaintext in ("Quokka", "saffron", "ünïcode", "\\u00fcn", FILE_NAME, WEBHOOK_SECRET):
        assert plaintext not in dumped, f"{plaintext!r} found in {model._meta.db_table} on {connection.vendor}"
    assert crypto.PREFIX in dumped


def test_every_value_reads_back_as_it_was_written(alice, practice):
    rows = make_phi_rows(practice, alice)

    values = read_back(rows)

    assert values["transcript.text"] == f"They said {WORDS}"
    assert values["transcript.segments"][0]["text"] == f"They said {WORDS}"
    assert values["recording.original_filename"] == FILE_NAME
    assert values["note.sections"] == sections(WORDS)
    assert values["note.pending_draft"]["sections"] == sections(f"draft {WORDS}")
    assert values["revision.sections"] == sections(WORDS)
    assert values["addendum.text"] == f"Addendum: {WORDS}"
    assert values["endpoint.secret"] == WEBHOOK_SECRET
    assert values["idempotency.response_body"]["client_label"] == WORDS


def test_none_is_stored_as_null_and_an_empty_text_is_still_encrypted(alice, practice):
    rows = make_phi_rows(practice, alice)
    Note.objects.filter(pk=rows.note.pk).update(pending_draft=None, pending_draft_ref="")
    Transcript.objects.filter(pk=rows.transcript.pk).update(text="")

    assert Note.objects.get(pk=rows.note.pk).pending_draft is None
    assert raw_values(Note, "pending_draft") == []
    assert Transcript.objects.get(pk=rows.transcript.pk).text == ""
    assert raw_values(Transcript, "text")[0].startswith(crypto.PREFIX)


def test_the_same_text_encrypts_differently_each_time_under_the_newest_key(settings, key_a, key_b):
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]

    first, second = crypto.encrypt("same words"), crypto.encrypt("same words")

    assert first != second
    assert first.startswith(f"{crypto.PREFIX}{crypto.key_id(key_b)}:")
    assert crypto.decrypt(first) == crypto.decrypt(second) == "same words"


def test_a_value_under_a_key_no_longer_configured_names_the_field_the_row_and_the_key(
    settings, alice, practice, key_a, key_b
):
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    rows = make_phi_rows(practice, alice)
    settings.FIELD_ENCRYPTION_KEYS = [key_b]

    with pytest.raises(FieldDecryptionError) as raised:
        Addendum.objects.get(pk=rows.addendum.pk)

    message = str(raised.value)
    assert "notes.Addendum.text" in message
    assert str(rows.addendum.pk).replace("-", "") in message.replace("-", "")
    assert crypto.key_id(key_a) in message
    assert "not in FIELD_ENCRYPTION_KEYS" in message


def test_an_altered_value_is_an_error_never_garbage(alice, practice):
    rows = make_phi_rows(practice, alice)
    stored = raw_values(Addendum, "text")[0]
    altered = stored[:-10] + ("A" if stored[-10] != "A" else "B") + stored[-9:]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notes_addendum SET text = %s", [altered])

    with pytest.raises(FieldDecryptionError, match="damaged or altered"):
        Addendum.objects.get(pk=rows.addendum.pk)


def test_plaintext_found_in_an_encrypted_column_is_refused(alice, practice):
    rows = make_phi_rows(practice, alice)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notes_addendum SET text = %s", ["written around the application"])

    with pytest.raises(FieldDecryptionError, match="not encrypted"):
        Addendum.objects.get(pk=rows.addendum.pk)


@pytest.mark.parametrize(
    "query",
    [
        lambda: Transcript.objects.filter(text__icontains="quokka"),
        lambda: Transcript.objects.filter(text="They said"),
        lambda: Transcript.objects.filter(segments__contains=[{"speaker": "A"}]),
        lambda: Note.objects.filter(sections__0__text="x"),
        lambda: Note.objects.filter(pending_draft__draft_ref="job-2"),
    ],
    ids=["text search", "equality", "JSON containment", "JSON path", "pending draft key"],
)
def test_the_database_is_never_asked_to_search_encrypted_columns(query):
    with pytest.raises(FieldError, match="is encrypted"):
        list(query())


def test_encrypted_columns_may_still_be_asked_whether_they_are_empty(alice, practice):
    rows = make_phi_rows(practice, alice)

    assert list(Note.objects.filter(pending_draft__isnull=False)) == [rows.note]
    assert list(Note.objects.exclude(pending_draft=None)) == [rows.note]
    assert not Note.objects.filter(pending_draft=None).exists()
