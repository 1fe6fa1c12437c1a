"""API callers of the fixed cast: Alice's practice key, Charlie's (another practice), a revoked one."""

from __future__ import annotations

import time
import types
from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiKey, Practice, User
from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import run_job
from sessions.models import ClinicalSession
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory


class ApiClient(Client):
    """A test client that sends an API key as a bearer token (or nothing, for the anonymous)."""

    def __init__(self, raw_key: str | None = None, **defaults: Any) -> None:
        if raw_key is not None:
            defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
        super().__init__(**defaults)

    def post_json(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.post(path, data if data is not None else {}, content_type="application/json", **extra)

    def patch_json(self, path: str, data: Any, **extra: Any) -> Any:
        return self.patch(path, data, content_type="application/json", **extra)


@pytest.fixture
def alice_key(alice: User, practice: Practice) -> str:
    _, raw = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    return raw


@pytest.fixture
def charlie_key(charlie: User, other_practice: Practice) -> str:
    _, raw = ApiKey.issue(practice=other_practice, name="Cedar sync", created_by=charlie)
    return raw


@pytest.fixture
def revoked_key(alice: User, practice: Practice) -> str:
    key, raw = ApiKey.issue(practice=practice, name="Old", created_by=alice)
    key.revoke()
    return raw


@pytest.fixture
def api(alice_key: str) -> ApiClient:
    return ApiClient(alice_key)


@pytest.fixture
def charlie_api(charlie_key: str) -> ApiClient:
    return ApiClient(charlie_key)


@pytest.fixture
def revoked_api(revoked_key: str) -> ApiClient:
    return ApiClient(revoked_key)


@pytest.fixture
def anonymous_api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def alice_session(alice: User, practice: Practice) -> ClinicalSession:
    return ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap")


@pytest.fixture
def recorded_session(alice_session: ClinicalSession, alice: User) -> ClinicalSession:
    recording_replace(
        session=alice_session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice
    )
    alice_session.refresh_from_db()
    return alice_session


@pytest.fixture
def succeeded_job(recorded_session: ClinicalSession, alice: User, settings: Any) -> Job:
    """A run of Alice's recorded session through the (stub) pipeline, finished."""
    settings.AI_MODE = "stub"
    job = job_start(session=recorded_session, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    return job


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real concurrent transactions (run with DATABASE_URL=postgres://…)")


@pytest.fixture
def rate_window_start(monkeypatch):
    """The rate limiters' clock held one second into a day: windows are aligned to the clock (a minute's window
    starts on the minute), so two requests of a test could otherwise fall on both sides of a boundary and be
    counted in different windows. Every window of a minute, an hour or a day starts at that instant."""
    moment = (time.time() // 86400) * 86400 + 1.0
    clock = types.SimpleNamespace(time=lambda: moment, monotonic=time.monotonic, sleep=time.sleep)
    monkeypatch.setattr("api.throttles.time", clock)
    monkeypatch.setattr("accounts.rate_limits.time", clock)
    monkeypatch.setattr("api.authentication.time", clock)
    return moment
