"""Django's ``optimizemigration``, without the checks of a running server's configuration
(config.management.schema_commands)."""

from __future__ import annotations

from django.core.management.commands.optimizemigration import Command as DjangoCommand

from config.management.schema_commands import SkipsServingChecks


class Command(SkipsServingChecks, DjangoCommand):
    """Django's command; only its system checks differ."""
