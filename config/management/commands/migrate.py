"""``migrate`` without the checks of a running server (mail, AI providers), but with those of the encryption keys."""

from __future__ import annotations

from django.core.management.commands.migrate import Command as DjangoCommand

from config.management.schema_commands import WRITES_ROWS, SkipsServingChecks


class Command(SkipsServingChecks, DjangoCommand):
    # Its data migrations encrypt what is stored: the keys are checked.
    skipped_check_tags = WRITES_ROWS
