"""What every benchmark shares: Django set up on the test settings, a throwaway database, a worker cluster, the
database's name and version, a query counter, the machine's description and its section of docs/performance.md.

Each benchmark is one command (``python bench/<name>.py``) that prints its figures, each with a ratio against a
baseline measured in the same run, and, with ``--write``, replaces its own section of docs/performance.md: the text
between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` (appended at the end the first time). ``./dev bench``
runs them all with ``--write``.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_MD = ROOT / "docs" / "performance.md"


def django_setup() -> None:
    """Set Django up as a benchmark runs it: on the test settings unless DJANGO_SETTINGS_MODULE names others.

    A benchmark calls this before it imports any model. It runs as ``python bench/NAME.py``, so it puts the
    project's root on ``sys.path`` itself before it imports this module."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

    import django

    django.setup()


def run_benchmark(main: Callable[[], None]) -> None:
    """Run a benchmark's ``main``, then remove the media and static folders the test settings made for this
    process: nothing in them outlives the benchmark."""
    from django.conf import settings

    try:
        main()
    finally:
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
        shutil.rmtree(settings.STATIC_ROOT, ignore_errors=True)


# --- The database -------------------------------------------------------------------------------------------


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """A database created (and migrated) here and dropped at the end, never the configured one: ``name`` on the
    PostgreSQL server the settings name, else a SQLite file of that name in a temporary folder.

    Yields the database's name as the connection knows it (the file's path on SQLite). Databases may be nested:
    each is dropped in turn and the connection is left on the one it was on before."""
    from django.db import connection

    folder = ""
    if connection.vendor == "sqlite":
        folder = tempfile.mkdtemp(prefix="sessionscribe-bench-")
        name = str(Path(folder) / f"{name}.sqlite3")
    if name == connection.settings_dict["NAME"]:
        raise SystemExit("refusing to use the configured database for a benchmark")
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": name}
    previous = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    database = str(connection.settings_dict["NAME"])
    try:
        yield database
    finally:
        # destroy_test_db drops the database the connection is on: this one, whichever one was used last.
        connection.close()
        connection.settings_dict["NAME"] = database
        connection.creation.destroy_test_db(previous, verbosity=0)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def database_vendor() -> str:
    """The database the benchmark runs on, as the figures name it: PostgreSQL or SQLite."""
    from django.db import connection

    return "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"


def database_version() -> str:
    """The database's version as it reports it (PostgreSQL's adds the build after the number)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def database_label() -> str:
    """The database and its version number, as a table of figures names it: ``PostgreSQL 16.4``."""
    return f"{database_vendor()} {database_version().split(maxsplit=1)[0]}"


class QueryCounter:
    """Counts the queries run while installed with ``connection.execute_wrapper``."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


# --- Worker processes ---------------------------------------------------------------------------------------


@contextmanager
def worker_cluster(**extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real django-q2 cluster (``manage.py qcluster``) on the benchmark's database and media folder for the length
    of the block, then stopped as production stops it; ``extra`` adds to or overrides its environment (Q_WORKERS,
    PROMETHEUS_MULTIPROC_DIR, ...). Its output goes to ``tests.support.workers.CLUSTER_LOG``."""
    from tests.support.workers import start_cluster, stop_cluster

    cluster = start_cluster(**extra)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


# --- The report ---------------------------------------------------------------------------------------------


def machine() -> str:
    """One line describing where the figures were measured: CPU, cores, memory, Python, database."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    database = (
        "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) else "SQLite"
    )
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {database}"
    )


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_section(name: str, markdown: str, *, path: Path = PERFORMANCE_MD) -> None:
    """Replace (or append) the section of ``path`` that belongs to benchmark ``name``."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{markdown.strip()}\n\n_Measured on {machine()}, revision {git_revision()}._\n{end}"
    text = path.read_text() if path.exists() else "# Performance\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    print(
        f"wrote the {name} section of {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
