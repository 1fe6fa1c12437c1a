"""The API answers kept for Idempotency-Key replays, stored in plaintext before encryption, encrypted in place.

Rows are encrypted under the newest of FIELD_ENCRYPTION_KEYS, in batches that each commit (config.column_encryption):
an interrupted run keeps its progress and the next one goes on from there. Backwards, they are decrypted again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from config.column_encryption import decrypt_columns, encrypt_columns

FIELDS = [
    ("accounts", "IdempotencyRecord", "response_body"),
]


def encrypt_stored(apps: Any, schema_editor: Any) -> None:
    encrypt_columns(apps, schema_editor, FIELDS)


def decrypt_stored(apps: Any, schema_editor: Any) -> None:
    decrypt_columns(apps, schema_editor, FIELDS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0008_idempotency_response_encrypted"),
    ]

    operations = [
        migrations.RunPython(encrypt_stored, decrypt_stored),
    ]
