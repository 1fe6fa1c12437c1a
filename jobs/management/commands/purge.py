from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from jobs.purge import purge_run

# What each count is, in the words an operator reads.
LABELS = {
    "recordings_audio": "recording audio files",
    "artifacts": "artifacts",
    "job_events": "job events",
    "task_rows": "task queue results",
    "api_records": "idempotency records and rate-limit windows",
    "audit_events": "audit events past their retention",
    "orphan_files": "files without a row",
    "temp_files": "unfinished temporary files",
}


class Command(BaseCommand):
    help = (
        "Delete what is past its retention: recording audio, expired artifacts, old job events and task results, "
        "audit events past AUDIT_RETENTION_DAYS, and stored files no row refers to. Prints the count of each."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        run = purge_run(dry_run=dry_run)
        if run.counts.get("skipped"):
            self.stdout.write("Another purge is running; this one did nothing.")
            return
        self.stdout.write("Dry run: nothing deleted. Would delete:" if dry_run else "Deleted:")
        for key, label in LABELS.items():
            self.stdout.write(f"  {label}: {int(run.counts.get(key, 0))}")
