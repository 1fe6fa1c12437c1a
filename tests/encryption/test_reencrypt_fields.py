"""``reencrypt_fields``: key rotation. Rows written under key A are re-encrypted under B in batches, after which A can
be removed; a second run does nothing, an interrupted run resumes, and a value no key reads is reported by row."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from config import crypto
from config.column_encryption import Column, batches, replace
from config.management.commands.reencrypt_fields import encrypted_columns
from notes.models import Addendum, Note, NoteRevision
from sessions.models import Transcript
from tests.encryption.conftest import make_phi_rows, raw_values, read_back

pytestmark = pytest.mark.django_db


def _reencrypt(*args: str) -> str:
    out = io.StringIO()
    call_command("reencrypt_fields", *args, stdout=out)
    return out.getvalue()


def _raw_key_ids() -> set[str | None]:
    """The key id of every stored value of every encrypted column."""
    return {
        crypto.key_id_of(value)
        for column in encrypted_columns()
        for rows in batches(connection, column)
        for _, value in rows
    }


def test_rotation_moves_every_value_to_the_new_key_so_the_old_one_can_go(settings, alice, practice, key_a, key_b):
    # given rows written under key A
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    rows = make_phi_rows(practice, alice)
    before = read_back(rows)
    assert _raw_key_ids() == {crypto.key_id(key_a)}
    # when B is added in front of A and the rows re-encrypted
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    output = _reencrypt("--batch-size", "1")
    # then everything is under B, and reads the same with B alone
    assert _raw_key_ids() == {crypto.key_id(key_b)}
    # one value per encrypted column of the rows made: 9 of content, and the note's and its revision's own flags
    assert "Re-encrypted 11 values" in output
    assert "notes.Note.sections: 1 of 1 re-encrypted" in output
    settings.FIELD_ENCRYPTION_KEYS = [key_b]
    assert read_back(rows) == before
    # and a second run finds nothing to do
    assert "Nothing to re-encrypt" in _reencrypt()


def test_values_already_under_the_newest_key_are_not_rewritten(settings, alice, practice, key_a, key_b):
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    make_phi_rows(practice, alice)
    stored = raw_values(Transcript, "text")

    output = _reencrypt()

    assert "Nothing to re-encrypt: every value is under the newest key" in output
    assert raw_values(Transcript, "text") == stored


def test_a_dry_run_counts_what_is_left_and_changes_nothing(settings, alice, practice, key_a, key_b):
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    make_phi_rows(practice, alice)
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]

    output = _reencrypt("--dry-run")

    assert "sessions.Transcript.segments: 1 to re-encrypt" in output
    assert "11 values would be re-encrypted" in output
    assert _raw_key_ids() == {crypto.key_id(key_a)}


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_rotation_keeps_its_finished_batches_and_resumes(
    settings, alice, practice, key_a, key_b, monkeypatch
):
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    note = make_phi_rows(practice, alice).note
    for version in range(2, 7):
        NoteRevision.objects.create(note=note, version=version, sections=[], source=NoteRevision.Source.CLINICIAN)
    revisions = set(raw_values(NoteRevision, "sections"))
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]
    # the process is stopped while it re-encrypts the second batch of revisions
    rotate = crypto.rotate
    revisions_seen = 0

    def stopped_midway(value: str) -> str:
        nonlocal revisions_seen
        revisions_seen += value in revisions
        if revisions_seen == 4:
            raise KeyboardInterrupt
        return rotate(value)

    monkeypatch.setattr(crypto, "rotate", stopped_midway)
    with pytest.raises(KeyboardInterrupt):
        _reencrypt("--batch-size", "2")
    monkeypatch.setattr(crypto, "rotate", rotate)

    # the first batch stayed done, the second was undone whole
    by_key = [crypto.key_id_of(value) for value in raw_values(NoteRevision, "sections")]
    assert (by_key.count(crypto.key_id(key_b)), by_key.count(crypto.key_id(key_a))) == (2, 4)
    # and the next run goes on from there
    assert "Re-encrypted 4 values" in _reencrypt("--batch-size", "2")
    assert _raw_key_ids() == {crypto.key_id(key_b)}


def test_a_value_no_configured_key_reads_is_reported_by_row_and_the_rest_still_rotates(
    settings, alice, practice, key_a, key_b
):
    settings.FIELD_ENCRYPTION_KEYS = [key_a]
    rows = make_phi_rows(practice, alice)
    lost = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [lost]
    orphan = Addendum.objects.create(note=rows.note, text="under a key since lost")
    settings.FIELD_ENCRYPTION_KEYS = [key_b, key_a]

    with pytest.raises(CommandError) as raised:
        _reencrypt()

    message = str(raised.value)
    assert message.startswith("1 value could not be read")
    assert f"notes.Addendum.text of row {orphan.pk.hex}" in message.replace(str(orphan.pk), orphan.pk.hex)
    assert "keep every key" in message
    assert _raw_key_ids() == {crypto.key_id(key_b), crypto.key_id(lost)}


def test_a_value_written_meanwhile_is_never_overwritten_by_the_rotation(alice, practice):
    rows = make_phi_rows(practice, alice)
    column = Column.of(Note, "sections")
    [(pk, read_earlier)] = next(batches(connection, column))
    Note.objects.filter(pk=rows.note.pk).update(sections=[])

    written = replace(connection, column, pk, read_earlier, crypto.encrypt("[1]"))

    assert written is False
    assert Note.objects.get(pk=rows.note.pk).sections == []


def test_the_command_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="at least 1"):
        _reencrypt("--batch-size", "0")
