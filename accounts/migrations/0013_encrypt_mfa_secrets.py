"""The second-factor secrets django-allauth stored in plaintext (authenticator apps' keys, recovery codes' seeds),
encrypted in place under the newest of FIELD_ENCRYPTION_KEYS, as the MFA adapter now writes them
(config.mfa_encryption). Batches each commit: an interrupted run keeps its progress and the next one goes on from
there. Backwards, they are decrypted again.
"""

from __future__ import annotations

from django.db import migrations

from config.mfa_encryption import decrypt_stored, encrypt_stored


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0012_practice_retention"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [
        migrations.RunPython(encrypt_stored, decrypt_stored),
    ]
