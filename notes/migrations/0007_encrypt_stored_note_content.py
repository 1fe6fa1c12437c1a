"""Notes, revisions, pending AI drafts and addenda stored in plaintext before encryption, encrypted in place; each
pending draft's ``draft_ref`` copied to ``pending_draft_ref`` first, as the encrypted draft cannot be queried.

Rows are encrypted under the newest of FIELD_ENCRYPTION_KEYS, in batches that each commit (config.column_encryption):
an interrupted run keeps its progress and the next one goes on from there. Backwards, they are decrypted again.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import migrations, transaction

from config import crypto
from config.column_encryption import Column, batches, decrypt_columns, encrypt_columns

FIELDS = [
    ("notes", "Note", "sections"),
    ("notes", "Note", "pending_draft"),
    ("notes", "NoteRevision", "sections"),
    ("notes", "Addendum", "text"),
]


def copy_pending_draft_refs(apps: Any, schema_editor: Any) -> None:
    Note = apps.get_model("notes", "Note")
    connection = schema_editor.connection
    for rows in batches(connection, Column.of(Note, "pending_draft")):
        with transaction.atomic(using=connection.alias):
            for pk, value in rows:
                if crypto.key_id_of(value) is not None:
                    continue  # encrypted by an interrupted run, after its reference was copied
                pending = json.loads(value)
                draft_ref = pending.get("draft_ref") if isinstance(pending, dict) else None
                Note.objects.filter(pk=pk).update(pending_draft_ref=str(draft_ref or ""))


def encrypt_stored(apps: Any, schema_editor: Any) -> None:
    encrypt_columns(apps, schema_editor, FIELDS)


def decrypt_stored(apps: Any, schema_editor: Any) -> None:
    decrypt_columns(apps, schema_editor, FIELDS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notes", "0006_note_content_encrypted_and_pending_draft_ref"),
    ]

    operations = [
        migrations.RunPython(copy_pending_draft_refs, migrations.RunPython.noop),
        migrations.RunPython(encrypt_stored, decrypt_stored),
    ]
