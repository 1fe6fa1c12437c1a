"""Every endpoint of the v1 table, for each caller: the anonymous and a revoked key get 401, another practice's
key gets 404 for Alice's objects, Alice's own key gets the documented answer."""

from __future__ import annotations

import functools
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jobs.models import Job
from jobs.services import job_start
from notes.models import Note
from sessions.models import ClinicalSession
from sessions.parts import recording_part_store
from tests.api.conftest import ApiClient
from tests.conftest import AUDIO
from tests.support.media_recorder import live_webm, parts_at_clusters

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    expected: int
    body: str = "none"
    prepare: Callable[[dict[str, Any]], None] | None = None


def _queued_job(world: dict[str, Any]) -> None:
    # The session's first run is over; a new one is queued, to be canceled.
    session = world["job"].session
    Job.objects.filter(pk=world["job"].pk).update(status=Job.Status.SUCCEEDED)
    world["job"] = job_start(session=session, requested_by=world["alice"])


def _consent_given(world: dict[str, Any]) -> None:
    ClinicalSession.objects.filter(pk=world["session"].pk).update(consent_status="given", consent_method="verbal")
    world["session"].refresh_from_db()


def _first_part_stored(world: dict[str, Any]) -> None:
    _consent_given(world)
    data = _first_part()
    path = Path(tempfile.mkdtemp()) / "part"
    path.write_bytes(data)
    recording_part_store(
        session=world["session"], n=0, content=path, sha256=hashlib.sha256(data).hexdigest(), received_by=None
    )


@functools.cache
def _first_part() -> bytes:
    return parts_at_clusters(live_webm())[0]


def _failed_job(world: dict[str, Any]) -> None:
    Job.objects.filter(pk=world["job"].pk).update(status=Job.Status.FAILED, error_code="X", error_message="x")


ENDPOINTS = {
    "list sessions": Endpoint("get", "/api/v1/sessions", 200),
    "create session": Endpoint("post", "/api/v1/sessions", 201, body="session"),
    "read session": Endpoint("get", "/api/v1/sessions/{session}", 200),
    "change session": Endpoint("patch", "/api/v1/sessions/{session}", 200, body="label"),
    "delete session": Endpoint("delete", "/api/v1/sessions/{session}", 204),
    "upload recording": Endpoint("post", "/api/v1/sessions/{session}/recording", 201, body="file"),
    "record consent": Endpoint("post", "/api/v1/sessions/{session}/consent", 200, body="consent"),
    "list recording parts": Endpoint("get", "/api/v1/sessions/{session}/recording/parts", 200),
    "send recording part": Endpoint(
        "put", "/api/v1/sessions/{session}/recording/parts/0", 201, body="part", prepare=_consent_given
    ),
    "complete recording parts": Endpoint(
        "post", "/api/v1/sessions/{session}/recording/parts/complete", 201, prepare=_first_part_stored
    ),
    "discard recording parts": Endpoint("delete", "/api/v1/sessions/{session}/recording/parts", 204),
    "start job": Endpoint("post", "/api/v1/sessions/{session}/jobs", 202),
    "read transcript": Endpoint("get", "/api/v1/sessions/{session}/transcript", 200),
    "read job": Endpoint("get", "/api/v1/jobs/{job}", 200),
    "retry job": Endpoint("post", "/api/v1/jobs/{job}/retry", 202, prepare=_failed_job),
    "cancel job": Endpoint("post", "/api/v1/jobs/{job}/cancel", 202, prepare=_queued_job),
    "job result": Endpoint("get", "/api/v1/jobs/{job}/result", 200),
    "read note": Endpoint("get", "/api/v1/notes/{note}", 200),
    "edit note": Endpoint("patch", "/api/v1/notes/{note}", 200, body="note"),
    "sign note": Endpoint("post", "/api/v1/notes/{note}/sign", 200, body="version"),
    "export note": Endpoint("get", "/api/v1/notes/{note}/export?format=txt", 200),
    "usage": Endpoint("get", "/api/v1/usage", 200),
}
OBJECT_ENDPOINTS = {name: endpoint for name, endpoint in ENDPOINTS.items() if "{" in endpoint.path}


@pytest.fixture
def world(succeeded_job: Job, alice) -> dict[str, Any]:
    note = Note.objects.get(session=succeeded_job.session)
    return {"session": succeeded_job.session, "job": succeeded_job, "note": note, "alice": alice}


def _call(client: ApiClient, endpoint: Endpoint, world: dict[str, Any]):
    if endpoint.prepare is not None:
        endpoint.prepare(world)
    path = endpoint.path.format(session=world["session"].pk, job=world["job"].pk, note=world["note"].pk)
    if endpoint.body == "file":
        with (AUDIO / "jfk.flac").open("rb") as handle:
            return client.post(path, {"file": handle})
    if endpoint.body == "part":
        return client.put(path, _first_part(), content_type="audio/webm")
    bodies = {
        "session": {"client_label": "K. L.", "occurred_at": "2025-03-04T09:30:00Z", "note_type": "soap"},
        "label": {"client_label": "M. N."},
        "note": {"version": world["note"].version, "sections": [{"key": "plan", "text": "Follow up in 2 weeks."}]},
        "version": {"version": world["note"].version},
        "consent": {"status": "given", "method": "verbal"},
    }
    if endpoint.body in bodies:
        return getattr(client, endpoint.method)(path, bodies[endpoint.body], content_type="application/json")
    return getattr(client, endpoint.method)(path)


def _assert_envelope(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["correlation_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_asks_the_anonymous_to_authenticate(name, world, anonymous_api):
    response = _call(anonymous_api, ENDPOINTS[name], world)
    _assert_envelope(response, 401, "authentication_required")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_refuses_a_revoked_key(name, world, revoked_api):
    response = _call(revoked_api, ENDPOINTS[name], world)
    _assert_envelope(response, 401, "authentication_required")
    assert "revoked" in response.json()["error"]["message"]


@pytest.mark.parametrize("name", OBJECT_ENDPOINTS)
def test_another_practices_key_finds_none_of_alices_objects(name, world, charlie_api):
    response = _call(charlie_api, OBJECT_ENDPOINTS[name], world)
    _assert_envelope(response, 404, "not_found")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_answers_alices_key_as_documented(name, world, api):
    response = _call(api, ENDPOINTS[name], world)
    assert response.status_code == ENDPOINTS[name].expected, response.content
    assert response["X-Request-ID"]


def test_another_practices_key_lists_none_of_alices_sessions(world, charlie_api):
    assert charlie_api.get("/api/v1/sessions").json()["results"] == []
    assert charlie_api.get("/api/v1/usage").json()["jobs_succeeded"] == 0


def test_another_practices_key_changes_nothing_of_alices(world, charlie_api):
    session = world["session"]
    charlie_api.patch_json(f"/api/v1/sessions/{session.pk}", {"client_label": "stolen"})
    charlie_api.delete(f"/api/v1/sessions/{session.pk}")
    session.refresh_from_db()
    assert session.client_label != "stolen"


def test_paths_have_no_trailing_slash(api):
    assert api.get("/api/v1/sessions").status_code == 200
    response = api.get("/api/v1/sessions/")
    _assert_envelope(response, 404, "not_found")
