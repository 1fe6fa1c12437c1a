"""The commands that only read or write the schema run the system checks without the configuration a server needs.

``makemigrations``, ``showmigrations``, ``sqlmigrate``, ``squashmigrations`` and ``optimizemigration`` skip the checks
tagged ``SERVING`` and ``ENCRYPTION_KEYS`` (``config.checks``): ``makemigrations --check`` runs in a bare environment,
DEBUG off and nothing set. ``migrate`` skips ``SERVING`` only: its data migrations encrypt what is stored, so it still
refuses to run without usable keys (or with the published development key and DEBUG off). Every other check (models,
URLs, a malformed variable) still runs, and ``check``, ``runserver``, ``qcluster`` and the WSGI application run all.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import registry
from django.core.management.base import BaseCommand

from config.checks import ENCRYPTION_KEYS, SERVING

SCHEMA_ONLY = frozenset({SERVING, ENCRYPTION_KEYS})
WRITES_ROWS = frozenset({SERVING})


class SkipsServingChecks(BaseCommand):
    """Mixed in before a Django command: its system checks leave out ``skipped_check_tags``."""

    skipped_check_tags: frozenset[str] = SCHEMA_ONLY

    def get_check_kwargs(self, options: Any) -> dict[Any, Any]:
        kwargs = super().get_check_kwargs(options)
        if "tags" not in kwargs:
            kwargs["tags"] = sorted(registry.registry.tags_available() - self.skipped_check_tags)
        return kwargs
