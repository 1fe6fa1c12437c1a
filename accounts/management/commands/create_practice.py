from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts.services import practice_create


class Command(BaseCommand):
    help = "Create a practice with its owner and print the practice's slug."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The practice's display name.")
        parser.add_argument("--owner-email", required=True, help="Email of the owner; the user is created if needed.")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the owner's password from standard input (first line). Without it, a new owner sets a "
            "password through the reset link.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(options["name"]).strip()
        if not name:
            raise CommandError("The practice name is empty.")
        email = str(options["owner_email"]).strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password was given on standard input.")
            try:
                validate_password(password)
            except ValidationError as error:
                raise CommandError("The password is too weak: " + " ".join(error.messages)) from None
        practice = practice_create(name=name, owner_email=email, owner_password=password)
        self.stdout.write(practice.slug)
