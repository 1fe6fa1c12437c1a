"""What every benchmark shares: the machine's description and its section of docs/performance.md.

Each benchmark is one command (``python bench/<name>.py``) that prints its figures, each with a ratio against a
baseline measured in the same run, and, with ``--write``, replaces its own section of docs/performance.md: the text
between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` (appended at the end the first time). ``./dev bench``
runs them all with ``--write``.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_MD = ROOT / "docs" / "performance.md"


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
