"""An S3-compatible server for the tests: moto in server mode on 127.0.0.1, one per test session (per xdist worker),
with a fresh bucket per test.

The app reaches it exactly as it reaches S3 in production: ``config.settings`` builds ``STORAGES["default"]`` from
the ``AWS_*`` environment (``production_s3_storage`` asks it, in a subprocess, with the server's address), and
processes the tests start (``qcluster``, ``gunicorn``) get the same variables (``S3Bucket.env``). Everything goes
over HTTP, so what the test process, a worker and a web process see is one bucket.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs; the tests only pass its answers on
from botocore.config import Config  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# moto accepts any credentials; these make the signatures real and are what every process is given.
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"


class MotoS3Server:
    """moto's S3 served over HTTP from a thread of this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # moto's server logs every request through werkzeug; the tests read the bucket, not the log.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoS3Server:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 2}),
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The production variables that point a process at ``bucket`` on this server (docs/operations.md)."""
        return {
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def production_s3_storage(env: dict[str, str]) -> dict[str, Any]:
    """``STORAGES["default"]`` as ``config.settings`` builds it from these ``AWS_*`` variables: the very
    options production runs with (server-side encryption, no ACL, no overwrite, presigned URLs)."""
    script = "import json, config.settings as s; print(json.dumps(s.STORAGES['default']))"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_", "PYTEST_"))}
    child_env.update(env)
    # Keeps config.settings from creating var/ for an embedded database it will not use.
    child_env.setdefault("DATABASE_URL", "postgres://unused@127.0.0.1:1/unused")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=child_env, capture_output=True, text=True, check=True
    )
    storage: dict[str, Any] = json.loads(result.stdout)
    return storage


@dataclass
class S3Bucket:
    """One test's bucket, and what a test asserts about it."""

    server: MotoS3Server
    name: str
    storage: dict[str, Any]

    def __post_init__(self) -> None:
        self.client = self.server.client()

    @property
    def env(self) -> dict[str, str]:
        return self.server.env(self.name)

    def keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
            keys.extend(entry["Key"] for entry in page.get("Contents", ()))
        return sorted(keys)

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def head(self, key: str) -> dict[str, Any]:
        head: dict[str, Any] = self.client.head_object(Bucket=self.name, Key=key)
        return head

    def put(self, key: str, data: bytes) -> None:
        """An object written behind the app's back (an orphan, say): with no encryption asked for."""
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def unencrypted(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` stored without S3's server-side encryption (AES256), as moto recorded them."""
        return [key for key in self.keys(prefix) if self.head(key).get("ServerSideEncryption") != "AES256"]

    def empty_and_delete(self) -> None:
        for key in self.keys():
            self.client.delete_object(Bucket=self.name, Key=key)
        self.client.delete_bucket(Bucket=self.name)


def bucket_create(server: MotoS3Server, template: dict[str, Any]) -> S3Bucket:
    name = f"scribe-{uuid.uuid4().hex[:16]}"
    server.client().create_bucket(Bucket=name)
    storage = json.loads(json.dumps(template))
    storage["OPTIONS"]["bucket_name"] = name
    return S3Bucket(server=server, name=name, storage=storage)


def moto_s3_session() -> Iterator[tuple[MotoS3Server, dict[str, Any]]]:
    """The session's server and the production storage settings for it (with a placeholder bucket)."""
    server = MotoS3Server().start()
    try:
        yield server, production_s3_storage(server.env("placeholder-bucket"))
    finally:
        server.stop()
