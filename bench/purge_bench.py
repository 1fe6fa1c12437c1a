"""Purge benchmark: expired artifacts through ``purge_run``, against a naive baseline measured in the same run.

The baseline loads every expired row at once and deletes them one at a time (mark, delete the file, delete the row:
the same crash-safe steps). Both run on the same number of rows, then ``purge_run`` runs again on the full set to
show that its memory does not grow with the number of rows. Time and memory are measured in separate passes, so
that tracemalloc's overhead does not distort the times.

Always on a throwaway database, created here and dropped at the end: a temporary SQLite file, or, when
DATABASE_URL names PostgreSQL, a database called ``bench_purge`` on that server. Never the configured one.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/purge_bench.py [--rows 100000] [--baseline-rows 10000]
        [--write]

With ``--write`` the figures replace the "purge" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    QueryCounter,
    database_label,
    database_version,
    django_setup,
    run_benchmark,
    table,
    throwaway_database,
    write_section,
)

django_setup()

from django.conf import settings  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Practice, User  # noqa: E402
from jobs.models import Artifact, Job  # noqa: E402
from jobs.purge import artifacts_due, purge_run  # noqa: E402
from sessions.models import ClinicalSession  # noqa: E402

JOBS = 100
INSERT_BATCH = 5000


@dataclass
class Measure:
    label: str
    rows: int
    seconds: float
    queries: int
    peak_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def make_jobs() -> list[Job]:
    practice = Practice.objects.create(name="Bench Practice", slug="bench-practice")
    clinician = User.objects.create_user(email="bench@example.test")
    finished = timezone.now() - dt.timedelta(days=60)
    jobs = []
    for index in range(JOBS):
        session = ClinicalSession.objects.create(
            practice=practice, clinician=clinician, client_label=f"B{index:03d}", occurred_at=finished
        )
        jobs.append(
            Job.objects.create(
                session=session, media_sha256="0" * 64, status=Job.Status.SUCCEEDED, finished_at=finished
            )
        )
    return jobs


def make_expired_artifacts(jobs: list[Job], rows: int, *, analyze: bool) -> None:
    expired = timezone.now() - dt.timedelta(days=1)
    stamp = time.monotonic_ns()
    pending: list[Artifact] = []
    for index in range(rows):
        pending.append(
            Artifact(
                job=jobs[index % len(jobs)],
                kind=Artifact.Kind.CHUNK_AUDIO,
                key=f"{stamp}-{index}",
                expires_at=expired,
            )
        )
        if len(pending) == INSERT_BATCH:
            Artifact.objects.bulk_create(pending)
            pending = []
    if pending:
        Artifact.objects.bulk_create(pending)
    if analyze:
        # Rows that expire have accumulated for weeks in a real table, and autovacuum has kept the planner's
        # statistics; a table filled a second ago has none.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Artifact._meta.db_table}")


def naive_purge() -> int:
    """Everything at once, one row at a time."""
    now = timezone.now()
    deleted = 0
    for artifact in list(artifacts_due(now)):
        Artifact.objects.filter(pk=artifact.pk).update(purging_at=now)
        if artifact.storage_name:
            default_storage.delete(artifact.storage_name)
        artifact.delete()
        deleted += 1
    return deleted


def batched_purge() -> int:
    return int(purge_run().counts["artifacts"])


def measure(label: str, jobs: list[Job], rows: int, purge: Callable[[], int], *, analyze: bool) -> Measure:
    make_expired_artifacts(jobs, rows, analyze=analyze)
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        deleted = purge()
        seconds = time.perf_counter() - started
    assert deleted == rows, (label, deleted, rows)

    make_expired_artifacts(jobs, rows, analyze=analyze)
    tracemalloc.start()
    tracemalloc.reset_peak()
    assert purge() == rows
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measure(label=label, rows=rows, seconds=seconds, queries=counter.count, peak_bytes=peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument(
        "--no-analyze", action="store_true", help="purge right after the bulk insert, before the planner has statistics"
    )
    parser.add_argument("--write", action="store_true", help="write the purge section of docs/performance.md")
    options = parser.parse_args()

    with throwaway_database("bench_purge") as name:
        database = database_label()
        print(f"database: {connection.vendor} {database_version()} (throwaway: {Path(name).name})")
        print(f"batch size: {getattr(settings, 'PURGE_BATCH_SIZE', 500)}; statistics: {not options.no_analyze}")
        jobs = make_jobs()
        analyze = not options.no_analyze
        naive = measure("naive, one by one", jobs, options.baseline_rows, naive_purge, analyze=analyze)
        same = measure("purge_run", jobs, options.baseline_rows, batched_purge, analyze=analyze)
        full = measure("purge_run", jobs, options.rows, batched_purge, analyze=analyze)

    print()
    print(f"{'method':<20} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'queries':>8} {'peak MiB':>9}")
    for row in (naive, same, full):
        print(
            f"{row.label:<20} {row.rows:>8} {row.seconds:>8.2f} {row.rows_per_second:>9.0f} {row.queries:>8}"
            f" {row.peak_bytes / 2**20:>9.2f}"
        )
    print()
    print(
        f"at {naive.rows} rows, purge_run vs naive: {same.rows_per_second / naive.rows_per_second:.1f}x the rows/s,"
        f" {naive.peak_bytes / max(same.peak_bytes, 1):.1f}x less peak memory,"
        f" {naive.queries / max(same.queries, 1):.0f}x fewer queries"
    )
    print(
        f"purge_run at {full.rows} rows vs {same.rows} rows:"
        f" peak memory x{full.peak_bytes / max(same.peak_bytes, 1):.2f} for x{full.rows / same.rows:.0f} the rows"
    )
    if options.write:
        write_section("purge", purge_markdown(database, naive, same, full, analyze=analyze))


def purge_markdown(database: str, naive: Measure, same: Measure, full: Measure, *, analyze: bool) -> str:
    rows = [
        [
            database,
            f"`{row.label}`" if row.label == "purge_run" else row.label,
            f"{row.rows:,}",
            f"{row.seconds:.2f}",
            f"{row.rows_per_second:,.0f}",
            f"{row.queries:,}",
            f"{row.peak_bytes / 2**20:.2f} MiB",
        ]
        for row in (naive, same, full)
    ]
    header = ["database", "method", "rows", "seconds", "rows/s", "queries", "peak memory"]
    return "\n".join(
        [
            f"Batches of {getattr(settings, 'PURGE_BATCH_SIZE', 500)} (`PURGE_BATCH_SIZE`), with the test settings"
            f"{' (on SQLite these set `synchronous=OFF`)' if database.startswith('SQLite') else ''}; planner "
            f"statistics {'gathered (`ANALYZE`) after loading' if analyze else 'absent (`--no-analyze`)'}:",
            "",
            table(header, rows),
            "",
            f"At {naive.rows:,} rows, `purge_run` against the baseline: "
            f"{same.rows_per_second / naive.rows_per_second:.1f}x the rows per second, "
            f"{naive.peak_bytes / max(same.peak_bytes, 1):.0f}x less peak memory and "
            f"{naive.queries / max(same.queries, 1):.0f}x fewer queries. {full.rows // same.rows}x the rows cost "
            f"`purge_run` {full.peak_bytes / max(same.peak_bytes, 1):.2f}x the peak memory: it holds one batch of "
            "ids at a time, and its queries grow with the number of batches, not with rows. The baseline's memory "
            "grows with the rows it loads.",
        ]
    )


if __name__ == "__main__":
    run_benchmark(main)
