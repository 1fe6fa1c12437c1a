"""Test overrides on top of the one settings module."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")
os.environ.setdefault("AI_MODE", "stub")
# Each test process writes its metrics to a folder of its own (prometheus-client reads this at import).
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sessionscribe-test-metrics-")
# A fixed key for the encrypted columns, shared with the worker processes some tests start.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "rD-nI9giRQ_36qFWGT4bs5U7cCr4B-ehb8eGdX3nRto=")

from config.settings import *  # noqa: F403
from config.settings import DATABASES, STORAGES

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
HTTPS = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_NAME = "csrftoken"
SECURE_HSTS_SECONDS = 0

# The SQLite test database is a file, not memory, so that a worker or cluster started as a subprocess by the
# fault-injection tests works on the same database as the test that started it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"sessionscribe-test-{os.getpid()}.sqlite3")
    }
    # A test database is thrown away: it need not survive a power cut, so it need not wait for the disk.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"]["OPTIONS"],
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A test database of this process's own name: two runs on one server at once (two checkouts, CI beside a
    # developer) would otherwise drop and recreate each other's test_<name> mid-run.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

# Long enough that no heartbeat fires during an ordinary test; the fault-injection tests shorten it.
JOB_LEASE_SECONDS = 120

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Each test process gets its own media folder, removed by the session fixture in conftest.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="sessionscribe-test-media-"))
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="sessionscribe-test-static-"))
STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "config.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "file_permissions_mode": 0o600},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.log_context.LogContextFilter"}},
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}
