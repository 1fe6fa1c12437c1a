"""django-q2's Redis broker for the tests: the Redis at 127.0.0.1:6379 (``TEST_REDIS_URL`` to use another), on a
database number of each test process's own, so that parallel test processes (pytest-xdist) never take each
other's tasks. Only that database is ever emptied."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

# Databases 11 to 15 of the server; one per xdist worker (gw0 → 11, gw1 → 12, …).
FIRST_DB = 11
DATABASES = 5


def redis_test_url() -> str:
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    number = FIRST_DB + (int(worker) if worker.isdigit() else 0) % DATABASES
    return f"{base}/{number}"


@dataclass(frozen=True)
class RedisBroker:
    url: str
    client: redis.Redis

    def queued(self, cluster_name: str = "sessionscribe") -> int:
        """Tasks waiting in the cluster's list (django-q2 names it ``django_q:<name>:q``)."""
        length: int = self.client.llen(f"django_q:{cluster_name}:q")  # type: ignore[assignment]  # sync client
        return length


def redis_broker_for_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisBroker]:
    """Point this process's django-q2 at the test database of the Redis server (a worker started with
    ``REDIS_URL`` set gets the same from config.settings), and empty that database before and after."""
    url = redis_test_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(
            f"needs a Redis server at {url.rsplit('/', 1)[0]} ({type(error).__name__}); start one "
            "(redis-server --port 6379) or set TEST_REDIS_URL"
        )
    client.flushdb()
    from django_q.conf import Conf

    # django-q2 reads Q_CLUSTER once, at import: what REDIS_URL does in config.settings, done on its Conf.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    try:
        yield RedisBroker(url=url, client=client)
    finally:
        client.flushdb()
        client.close()
