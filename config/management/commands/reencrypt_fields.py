"""``reencrypt_fields``: every encrypted column under the newest of FIELD_ENCRYPTION_KEYS, so older keys can go, and
the second-factor secrets inside django-allauth's authenticators with them (``config.mfa_encryption``).

Values already under the newest key are recognised by their prefix in the database and never read. The others are
decrypted with their own key and written under the newest, in batches that are each one transaction: the command may
be interrupted at any point and run again, and it goes on where it stopped. A value the application writes meanwhile
(always under the newest key) is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from config import crypto, mfa_encryption
from config.column_encryption import BATCH_SIZE, Column, Unreadable, count, rewrite
from config.encrypted_fields import EncryptedTextField

# Enough of the unreadable values to act on; the count says how many there are in all.
SHOWN_UNREADABLE = 20


def _values(number: int) -> str:
    return f"{number} value" if number == 1 else f"{number} values"


def encrypted_columns() -> list[Column]:
    """Every encrypted column of every installed model, in a stable order."""
    columns = [
        Column.of(model, field.name)
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
    return sorted(columns, key=lambda column: column.label)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column under the newest of FIELD_ENCRYPTION_KEYS (the first), in batches. "
        "Safe to interrupt and run again; once it reports nothing left, the older keys may be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help=f"Rows per transaction (default {BATCH_SIZE})."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the values not yet under the newest key; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = int(options["batch_size"])
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            newest = crypto.keyring()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None

        unreadable: list[Unreadable] = []
        outstanding = 0
        rewritten = 0
        for column in encrypted_columns():
            pending = count(connection, column, not_under_prefix=newest.newest_prefix)
            if not pending:
                continue
            outstanding += pending
            if options["dry_run"]:
                self.stdout.write(f"{column.label}: {pending} to re-encrypt")
                continue
            rewritten += self._reencrypt(column, pending, newest.newest_prefix, batch_size, unreadable)
        authenticators = mfa_encryption.authenticator_model()
        pending = mfa_encryption.pending(authenticators) if authenticators is not None else 0
        if pending:
            outstanding += pending
            if options["dry_run"]:
                self.stdout.write(f"{mfa_encryption.LABEL}: {pending} to re-encrypt")
            else:
                rewritten += mfa_encryption.rewrite(
                    authenticators,
                    mfa_encryption.under_newest_key,
                    batch_size=batch_size,
                    on_batch=self._progress(mfa_encryption.LABEL, pending),
                    unreadable=unreadable,
                )

        key = f"the newest key (id {newest.newest_id})"
        if not outstanding:
            self.stdout.write(f"Nothing to re-encrypt: every value is under {key}.")
        elif options["dry_run"]:
            self.stdout.write(f"{_values(outstanding)} would be re-encrypted under {key}.")
        else:
            self.stdout.write(f"Re-encrypted {_values(rewritten)} under {key}.")
        if unreadable:
            shown = "\n".join(f"  {problem}" for problem in unreadable[:SHOWN_UNREADABLE])
            more = len(unreadable) - SHOWN_UNREADABLE
            raise CommandError(
                f"{_values(len(unreadable))} could not be read and {'was' if len(unreadable) == 1 else 'were'} left "
                "as stored; keep every key they need in FIELD_ENCRYPTION_KEYS until they are dealt with:"
                f"\n{shown}" + (f"\n  … and {more} more" if more > 0 else "")
            )

    def _progress(self, label: str, pending: int) -> Callable[[int], None]:
        done = 0

        def progress(changed: int) -> None:
            nonlocal done
            done += changed
            self.stdout.write(f"{label}: {done} of {pending} re-encrypted")

        return progress

    def _reencrypt(
        self, column: Column, pending: int, prefix: str, batch_size: int, unreadable: list[Unreadable]
    ) -> int:
        return rewrite(
            connection,
            column,
            crypto.rotate,
            batch_size=batch_size,
            not_under_prefix=prefix,
            on_batch=self._progress(column.label, pending),
            unreadable=unreadable,
        )
