"""The web tier as production runs it: gunicorn with two worker processes and a ``qcluster`` beside them, on one
database and one bucket, writing their metrics to one ``PROMETHEUS_MULTIPROC_DIR``. Requests land on both
workers, and ``/metrics`` (behind METRICS_TOKEN), answered by either of them, sums every process's counters."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from jobs.models import Job
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.workers import ROOT, start_cluster, stop_cluster, wait_until, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-token-for-the-web-processes-test"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
_BOOTED = re.compile(r"Booting worker with pid: (\d+)")


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    url: str
    workers: set[int]
    log: Path

    def request(self, path: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.url}{path}", method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 — 127.0.0.1
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int = 2) -> Iterator[Gunicorn]:
    """``gunicorn config.wsgi`` on a free port of 127.0.0.1, stopped (SIGTERM to the master) at the end."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers)),
                *("--bind", "127.0.0.1:0", "--graceful-timeout", "5", "--log-level", "info"),
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            text = log.read_text(errors="replace")
            port = _LISTENING.search(text)
            booted = {int(pid) for pid in _BOOTED.findall(text)}
            if port and len(booted) >= workers:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{text[-3000:]}")
            time.sleep(0.05)
        yield Gunicorn(process=process, url=f"http://127.0.0.1:{port.group(1)}", workers=booted, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name{labels…}`` in Prometheus' text format (other labels allowed)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith((name + "{", name + " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _per_process(folder: Path, name: str, **labels: str) -> dict[int, float]:
    """``name{labels…}`` as each process wrote it to its own files (``<type>_<pid>.db``) in the folder."""
    values: dict[int, float] = {}
    for path in folder.glob("*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    values[pid] = values.get(pid, 0.0) + sample.value
    return {pid: value for pid, value in values.items() if value}


def test_two_gunicorn_workers_share_the_load_and_metrics_sum_every_process(
    alice, alice_key, s3_bucket, settings, tmp_path
):
    settings.AI_MODE = "stub"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = worker_env(
        **s3_bucket.env,
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(tmp_path / "var"),
    )
    # As a deployment does before starting the web processes: the pages' static files, with their manifest (the
    # error pages need it). It runs while the processes start.
    collectstatic = subprocess.Popen(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env
    )
    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice, note_type="soap")
    recording_replace(session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice)
    saves = "sessionscribe_storage_seconds_count"

    # The worker writes its metrics to the same folder as the web processes.
    cluster = start_cluster(**s3_bucket.env, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    try:
        with gunicorn(env, tmp_path / "gunicorn.log") as web:
            # A job started through the web tier, run by the worker meanwhile.
            status, body = web.request(
                f"/api/v1/sessions/{session.pk}/jobs", method="POST", headers={"Authorization": f"Bearer {alice_key}"}
            )
            assert status == 202, body
            job_id = json.loads(body)["id"]

            # Concurrent readiness probes (one storage save each) until both web workers have answered some.
            probes = 0
            with ThreadPoolExecutor(max_workers=8) as pool:
                for _ in range(10):
                    statuses = list(pool.map(lambda _: web.request("/readyz")[0], range(16)))
                    assert statuses == [200] * 16
                    probes += 16
                    if web.workers <= set(_per_process(metrics_dir, saves, operation="save")):
                        break
            by_process = _per_process(metrics_dir, saves, operation="save")
            assert web.workers <= set(by_process), f"requests reached only {set(by_process)} of {web.workers}"
            assert sum(by_process[pid] for pid in web.workers) == probes

            wait_until(
                lambda: Job.objects.get(pk=job_id).status == Job.Status.SUCCEEDED, timeout=60, what="the job to run"
            )
            # Stopped, the cluster has written all it counted.
            stop_cluster(cluster)
            assert collectstatic.wait(timeout=60) == 0
            assert web.request("/metrics")[0] == 404
            assert web.request("/metrics", headers={"Authorization": "Bearer wrong"})[0] == 404
            status, scraped = web.request("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
            text = scraped.decode()
    finally:
        stop_cluster(cluster)
        if collectstatic.poll() is None:
            collectstatic.kill()
            collectstatic.wait()

    jobs = "sessionscribe_jobs_total"
    queued_in = _per_process(metrics_dir, jobs, status="queued")
    succeeded_in = _per_process(metrics_dir, jobs, status="succeeded")
    # Counted where it happened: the job was queued by a web worker and succeeded in a worker of the cluster.
    assert set(queued_in) <= web.workers
    assert succeeded_in
    assert not set(succeeded_in) & web.workers
    # The scrape, answered by one web worker, is the sum over every process: both web workers and the cluster's.
    assert _sample(text, jobs, status="queued") == 1
    assert _sample(text, jobs, status="succeeded") == 1
    all_saves = _per_process(metrics_dir, saves, operation="save")
    assert set(all_saves) > web.workers
    assert _sample(text, saves, operation="save") == sum(all_saves.values()) > probes
