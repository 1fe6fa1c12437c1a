from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Practice
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Issue an API key for a practice and print only the key (it is not stored and cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("practice", help="The practice's slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'EHR sync'.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = Practice.objects.filter(slug=options["practice"]).first()
        if practice is None:
            raise CommandError(f"No practice has the slug {options['practice']!r}.")
        name = str(options["name"]).strip()
        if not name:
            raise CommandError("The key's name is empty.")
        _, raw_key = api_key_create(practice=practice, name=name, created_by=None)
        self.stdout.write(raw_key)
