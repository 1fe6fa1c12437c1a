"""One encrypted column read and rewritten in batches, in plain SQL beneath the model fields.

Used by the migrations that encrypt the rows written before encryption (migrations may not import app code, and
their historical models would decrypt on read) and by ``reencrypt_fields``. Rows are visited in primary-key order,
``batch_size`` at a time, and each batch is one transaction: an interrupted run keeps the batches it finished, and a
second run skips what is already done. A row is rewritten only if it still holds the value that was read, so a
write by the application meanwhile (always under the newest key) is never undone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from config import crypto

BATCH_SIZE = 500


@dataclass(frozen=True)
class Column:
    label: str
    table: str
    pk: str
    name: str

    @classmethod
    def of(cls, model: Any, field_name: str) -> Column:
        """The column of a model's field; ``model`` may be a migration's historical model."""
        meta = model._meta
        return cls(
            label=f"{meta.label}.{field_name}",
            table=meta.db_table,
            pk=meta.pk.column,
            name=meta.get_field(field_name).column,
        )


@dataclass(frozen=True)
class Unreadable:
    """A value that could not be rewritten, by row, with the reason."""

    label: str
    pk: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.label} of row {self.pk}: {self.reason}"


def _quoted(connection: BaseDatabaseWrapper, column: Column) -> tuple[str, str, str]:
    quote = connection.ops.quote_name
    return quote(column.table), quote(column.pk), quote(column.name)


def _not_under(connection: BaseDatabaseWrapper, column: Column, prefix: str) -> tuple[str, list[Any]]:
    # A prefix compared exactly (LIKE ignores case on SQLite); SUBSTR is the same on SQLite and PostgreSQL.
    _, _, name = _quoted(connection, column)
    return f"SUBSTR({name}, 1, %s) <> %s", [len(prefix), prefix]


def count(connection: BaseDatabaseWrapper, column: Column, *, not_under_prefix: str | None = None) -> int:
    """Non-null values of the column, only those not starting with ``not_under_prefix`` when given."""
    table, _, name = _quoted(connection, column)
    condition, params = _not_under(connection, column, not_under_prefix) if not_under_prefix else ("1 = 1", [])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {name} IS NOT NULL AND {condition}", params)  # noqa: S608
        return int(cursor.fetchone()[0])


def batches(
    connection: BaseDatabaseWrapper,
    column: Column,
    *,
    batch_size: int = BATCH_SIZE,
    not_under_prefix: str | None = None,
) -> Iterator[list[tuple[Any, str]]]:
    """(primary key, stored value) of every non-null value, in primary-key order, ``batch_size`` at a time."""
    table, pk, name = _quoted(connection, column)
    condition, condition_params = (
        _not_under(connection, column, not_under_prefix) if not_under_prefix else ("1 = 1", [])
    )
    last: Any = None
    while True:
        after, after_params = ("", []) if last is None else (f" AND {pk} > %s", [last])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {pk}, {name} FROM {table} WHERE {name} IS NOT NULL AND {condition}{after} "  # noqa: S608
                f"ORDER BY {pk} LIMIT %s",
                [*condition_params, *after_params, batch_size],
            )
            rows = [(row[0], str(row[1])) for row in cursor.fetchall()]
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1][0]


def replace(connection: BaseDatabaseWrapper, column: Column, pk: Any, old: str, new: str) -> bool:
    """Write ``new`` where the row still holds ``old``; whether it did."""
    table, pk_name, name = _quoted(connection, column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {name} = %s WHERE {pk_name} = %s AND {name} = %s",  # noqa: S608
            [new, pk, old],
        )
        return bool(cursor.rowcount == 1)


def rewrite(
    connection: BaseDatabaseWrapper,
    column: Column,
    change: Callable[[str], str | None],
    *,
    batch_size: int = BATCH_SIZE,
    not_under_prefix: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    unreadable: list[Unreadable] | None = None,
) -> int:
    """Apply ``change`` to every stored value (None leaves it), one transaction per batch; how many changed.

    A value ``change`` cannot read (DecryptionError) is left as it is and, with ``unreadable``, recorded there.
    ``on_batch`` is told how many values each finished batch changed.
    """
    changed = 0
    for rows in batches(connection, column, batch_size=batch_size, not_under_prefix=not_under_prefix):
        in_batch = 0
        with transaction.atomic(using=connection.alias):
            for pk, value in rows:
                try:
                    new = change(value)
                except crypto.DecryptionError as error:
                    if unreadable is None:
                        raise
                    unreadable.append(Unreadable(column.label, pk, str(error)))
                    continue
                if new is not None and new != value and replace(connection, column, pk, value, new):
                    in_batch += 1
        changed += in_batch
        if on_batch is not None:
            on_batch(in_batch)
    return changed


# --- for the migrations that encrypted what was stored before ------------------------------------------------------


def _encrypted_if_plaintext(value: str) -> str | None:
    # A value this migration already encrypted (a run that was interrupted) reads under a configured key.
    return None if crypto.is_readable(value) else crypto.encrypt(value)


def _plaintext_if_encrypted(value: str) -> str | None:
    return None if crypto.key_id_of(value) is None else crypto.decrypt(value)


def encrypt_columns(apps: Any, schema_editor: Any, fields: Iterable[tuple[str, str, str]]) -> None:
    """Encrypt, under the newest key, the plaintext values of ``(app label, model name, field name)``."""
    for app_label, model_name, field_name in fields:
        column = Column.of(apps.get_model(app_label, model_name), field_name)
        rewrite(schema_editor.connection, column, _encrypted_if_plaintext)


def decrypt_columns(apps: Any, schema_editor: Any, fields: Iterable[tuple[str, str, str]]) -> None:
    """Back to plaintext, for migrating backwards: every value must be readable under the configured keys."""
    for app_label, model_name, field_name in fields:
        column = Column.of(apps.get_model(app_label, model_name), field_name)
        rewrite(schema_editor.connection, column, _plaintext_if_encrypted)
