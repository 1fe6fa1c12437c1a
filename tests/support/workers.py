"""Real worker processes for the fault-injection tests: a django-q2 cluster, or one job run, in a subprocess
that shares the test's database and storage, so that it can be killed for real."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or "postgres"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{conf['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a production process pointed at the test's database, storage and fake providers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "COV_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # The same key as the test, which signs the tasks it enqueues.
            "SECRET_KEY": str(settings.SECRET_KEY),
            # The same keys, to read and write the encrypted columns.
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "localhost",
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "AI_MODE": str(settings.AI_MODE),
            "OPENAI_API_KEY": str(settings.OPENAI_API_KEY),
            "OPENAI_BASE_URL": str(settings.OPENAI_BASE_URL or ""),
            "ANTHROPIC_API_KEY": str(settings.ANTHROPIC_API_KEY),
            "ANTHROPIC_BASE_URL": str(settings.ANTHROPIC_BASE_URL or ""),
            "DRAFTING_PROVIDER": str(settings.DRAFTING_PROVIDER),
            "DRAFTING_MODEL": str(settings.DRAFTING_MODEL),
            "TRANSCRIPTION_MODEL": str(settings.TRANSCRIPTION_MODEL),
            "TRANSCRIPTION_CONCURRENCY": str(settings.TRANSCRIPTION_CONCURRENCY),
            "TRANSCRIPTION_MAX_CHUNK_SECONDS": str(settings.TRANSCRIPTION_MAX_CHUNK_SECONDS or 0),
            "TRANSCRIPTION_MIN_CHUNK_SECONDS": str(settings.TRANSCRIPTION_MIN_CHUNK_SECONDS),
            "JOB_LEASE_SECONDS": str(settings.JOB_LEASE_SECONDS),
            "JOB_BACKOFF_BASE_SECONDS": str(settings.JOB_BACKOFF_BASE_SECONDS),
            "Q_WORKERS": "2",
            "LOG_LEVEL": "warning",
            # Production refuses to start without a mail server; the workers send no mail.
            "EMAIL_HOST": "smtp.invalid",
        }
    )
    env.update(extra)
    return env


CLUSTER_LOG = Path(tempfile.gettempdir()) / f"sessionscribe-test-cluster-{os.getpid()}.log"


def start_cluster(**extra: str) -> subprocess.Popen[bytes]:
    """``manage.py qcluster`` in its own process group, so that killing the group kills the whole cluster.
    Its output goes to CLUSTER_LOG, which a failing test shows."""
    with CLUSTER_LOG.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=worker_env(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_cluster(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the cluster and its workers at once, as the kernel's OOM killer or a lost machine would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_cluster(process: subprocess.Popen[bytes]) -> None:
    stop_clusters([process])


def stop_clusters(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop clusters as systemd's ``KillMode=mixed`` does: SIGTERM to each cluster's main process only, which stops
    its pusher, lets its workers finish and exits (in about two seconds when idle); all at once, then wait. SIGTERM
    sent to a cluster's whole process group kills the sentinel under the main process, which then never exits;
    whatever is left after the wait is killed."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    log = CLUSTER_LOG.read_text(errors="replace")[-3000:] if CLUSTER_LOG.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{log}")


def temp_files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and (path.suffix == ".tmp" or ".upload" in path.name)]
