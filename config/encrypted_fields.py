"""Model fields stored encrypted (``config.crypto``): the database holds only ciphertext, in a text column.

A value is encrypted under the newest of ``FIELD_ENCRYPTION_KEYS`` when it is written and decrypted with the key
that wrote it when it is read. None is stored as SQL NULL. A value that cannot be decrypted raises
``FieldDecryptionError``, naming the field, the row and why: it is never returned as text.

The database cannot look inside a ciphertext, so these fields cannot be searched, compared or ordered in queries;
only ``isnull`` (and ``=None``) is allowed, and any other lookup fails at once rather than matching nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import FieldError
from django.db import DatabaseError, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Exact, Lookup, Transform

from config import crypto


class FieldDecryptionError(Exception):
    """A stored value that cannot be decrypted. Names the field and the row, never the value."""


class _NoneOnlyExact(Exact):  # type: ignore[type-arg]
    """``field=None``, which the ORM turns into ``IS NULL``; any other value cannot be compared encrypted."""

    def get_prep_lookup(self) -> Any:
        if self.rhs is not None:
            raise FieldError(_unsearchable(self.lhs.output_field, "exact"))
        return super().get_prep_lookup()


def _unsearchable(field: models.Field[Any, Any], lookup: str) -> str:
    return (
        f"{field.model._meta.label}.{field.name} is encrypted: the database cannot compare or search it "
        f"(lookup '{lookup}'). Filter on another column."
    )


class _RefusedLookup(Lookup):  # type: ignore[type-arg]
    """Any lookup but ``isnull``: refused when a query uses it (Django and type checkers may still ask for it)."""

    def __init__(self, lhs: Any, rhs: Any) -> None:
        raise FieldError(_unsearchable(lhs.output_field, self.lookup_name))


class _RefusedTransform(Transform):
    """A key or index into encrypted JSON (``pending_draft__draft_ref``): refused when a query uses it."""

    def __init__(self, expression: Any, *args: Any, **kwargs: Any) -> None:
        raise FieldError(_unsearchable(expression.output_field, self.lookup_name))


def _refused(base: type[Any], lookup_name: str) -> Any:
    return type(f"Refused_{lookup_name}", (base,), {"lookup_name": lookup_name})


def _rows_holding(field: models.Field[Any, Any], value: str, connection: BaseDatabaseWrapper) -> str:
    """The primary keys of the rows that hold a stored value, for the error that names it."""
    quote = connection.ops.quote_name
    meta = field.model._meta
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} "  # noqa: S608
                f"WHERE {quote(field.column)} = %s",
                [value],
            )
            pks = [str(row[0]) for row in cursor.fetchmany(3)]
    except DatabaseError:
        pks = []
    return ", ".join(pks) if pks else "(not found)"


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored encrypted."""

    description = "Text (encrypted)"

    def _to_plaintext(self, value: Any) -> str:
        return str(value)

    def _from_plaintext(self, plaintext: str) -> Any:
        return plaintext

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return crypto.encrypt(self._to_plaintext(value))

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None
        try:
            return self._from_plaintext(crypto.decrypt(value))
        except (crypto.DecryptionError, ValueError) as error:
            label = f"{self.model._meta.label}.{self.name}"
            raise FieldDecryptionError(
                f"{label} of row {_rows_holding(self, value, connection)} cannot be read: {error}."
            ) from None

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if lookup_name == "exact":
            return _NoneOnlyExact
        refused: type[Lookup[Any]] = _refused(_RefusedLookup, lookup_name)
        return refused

    def get_transform(self, lookup_name: str) -> type[Transform] | None:
        refused: type[Transform] = _refused(_RefusedTransform, lookup_name)
        return refused


class EncryptedJSONField(EncryptedTextField):
    """JSON (lists, dicts, strings, numbers) stored encrypted; reads back as the Python value."""

    description = "JSON (encrypted)"
    empty_strings_allowed = False
    # For django-stubs: any JSON value in and out, as models.JSONField.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def _to_plaintext(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def _from_plaintext(self, plaintext: str) -> Any:
        return json.loads(plaintext)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return self._to_plaintext(self.value_from_object(obj))

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        # Field's own form field, not TextField's, with the JSON form class that models.JSONField uses.
        return models.Field.formfield(
            self, form_class=form_class or forms.JSONField, choices_form_class=choices_form_class, **kwargs
        )
