"""The attacks a probe of a PHI application tries, on every route at once: another practice's objects,
requests without a CSRF token, a session fixed before login, file names that climb out of their folder.
Each is refused, none is a 500, and nothing of the other practice changes."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import ApiKey, Membership
from formats.models import NoteTemplate
from integrations.models import WebhookEndpoint
from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession, Recording, Transcript
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import TEST_PASSWORD, ClinicalSessionFactory
from tests.test_deny_by_default import ROUTES

pytestmark = pytest.mark.django_db

# Routes that take no session cookie, so a CSRF token means nothing to them: each authenticates otherwise.
NOT_COOKIE_AUTHENTICATED = {
    "billing:stripe_webhook": "Stripe's signature on the raw body",
    "api:jobs_runner": "the runner's bearer token",
    "api:artifact_download": "the signed link",
    "metrics": "the metrics bearer token",
    "not_found": "changes nothing: any other path",
}
# What a refusal may look like: forbidden, not found, a method not taken, or a token or signature refused.
REFUSED = {400, 401, 403, 404, 405, 410}


def _owner_client(user, *, csrf: bool) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def alices_practice_in_use(alice, practice, settings):
    """A processed session of Alice's practice, with a note, a job, a key, a webhook endpoint and a format."""
    settings.AI_MODE = "stub"
    session = ClinicalSessionFactory(practice=practice, clinician=alice, client_label="AA-017")
    recording_replace(session=session, upload_path=AUDIO / "jfk.flac", original_filename="a.flac", uploaded_by=alice)
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    key, _ = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    endpoint = WebhookEndpoint.objects.create(practice=practice, url="https://ehr.example.org/hooks", secret="s")
    template = NoteTemplate.objects.create(
        practice=practice, key="intake", name="Intake", sections=[{"key": "a", "heading": "A", "instruction": "x"}]
    )
    ids = [
        session.pk,
        Note.objects.get(session=session).pk,
        Job.objects.get(session=session).pk,
        Recording.objects.get(session=session).pk,
        key.pk,
        endpoint.pk,
        template.pk,
        *Membership.objects.filter(practice=practice).values_list("pk", flat=True),
    ]
    return session, [str(value) for value in ids]


def _snapshot(practice) -> list[object]:
    """What an attacker could change of a practice: its rows and when they last changed."""
    sessions = ClinicalSession.objects.filter(practice=practice).order_by("pk")
    return [
        list(sessions.values_list("pk", "updated_at", "client_label", "status", "consent_status")),
        list(Note.objects.filter(session__practice=practice).values_list("pk", "version", "status", "updated_at")),
        list(Transcript.objects.filter(session__practice=practice).values_list("pk", "updated_at")),
        list(Job.objects.filter(session__practice=practice).values_list("pk", "status", "updated_at")),
        list(ApiKey.objects.filter(practice=practice).values_list("pk", "revoked_at", "name")),
        list(WebhookEndpoint.objects.filter(practice=practice).values_list("pk", "url")),
        list(NoteTemplate.objects.filter(practice=practice).values_list("pk", "name", "retired_at")),
        list(Membership.objects.filter(practice=practice).values_list("pk", "role")),
        practice.name,
    ]


def _with_ids(route: str, candidate: str) -> str:
    """The route's URL with every id in it replaced by ``candidate`` (ints for int parts)."""
    filled = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", candidate, route)
    return re.sub(r"/1/", f"/{candidate}/", filled) if candidate.isdigit() else filled


def test_another_practices_owner_reaches_nothing_of_a_practice_through_any_route(
    charlie, practice, alices_practice_in_use
):
    _, candidates = alices_practice_in_use
    before = _snapshot(practice)
    attacker = _owner_client(charlie, csrf=False)
    answered: list[str] = []
    routes = [
        (name, url) for name, url in ROUTES if not name.startswith("admin:") and re.search(r"[0-9a-f-]{36}|/1/", url)
    ]
    assert len(routes) > 30
    for name, url in routes:
        for candidate in candidates:
            target = _with_ids(url, candidate)
            if target == url and not candidate.isdigit():
                continue
            for method in ("get", "post"):
                status = getattr(attacker, method)(target).status_code
                if status >= 500 or (200 <= status < 400 and not _harmless(name, status)):
                    answered.append(f"{method.upper()} {target} ({name}) answered {status}")
    assert answered == []
    assert _snapshot(practice) == before


def _harmless(name: str, status: int) -> bool:
    # A redirect to the login or re-authentication page, or a page that names nothing of the object.
    return name in NOT_COOKIE_AUTHENTICATED or status in {302, 303}


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(alice, practice, alices_practice_in_use):
    session, _ = alices_practice_in_use
    before = _snapshot(practice)
    client = _owner_client(alice, csrf=True)
    accepted: list[str] = []
    checked = 0
    for name, url in ROUTES:
        if name in NOT_COOKIE_AUTHENTICATED:
            continue
        checked += 1
        target = _with_ids(url, str(session.pk))
        status = client.post(target).status_code
        if status not in REFUSED:
            accepted.append(f"POST {target} ({name}) answered {status}")
    assert checked > 60
    assert accepted == []
    assert _snapshot(practice) == before


def test_a_session_fixed_before_login_is_not_the_one_after(client, alice):
    client.get("/accounts/login/")
    store = client.session
    store["planted"] = True
    store.save()
    planted = store.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = planted

    response = client.post("/accounts/login/", {"login": alice.email, "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert client.get("/sessions/").status_code == 200


@pytest.mark.parametrize(
    "filename", ["../../../../etc/passwd.flac", "..\\..\\windows\\win.ini.flac", "/etc/shadow.flac", "a/../../b.flac"]
)
def test_a_file_name_that_climbs_out_of_its_folder_stays_a_name(alice, alice_client, practice, filename):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    upload = SimpleUploadedFile(filename, (AUDIO / "jfk.flac").read_bytes(), content_type="audio/flac")
    response = alice_client.post(f"/sessions/{session.pk}/recording/", {"file": upload})
    assert response.status_code in {201, 302}
    recording = Recording.objects.get(session=session)
    stored = Path(recording.file.name)
    assert ".." not in stored.parts
    assert stored.parts[0] == "practices"
    assert "/" not in recording.original_filename
    assert "\\" not in recording.original_filename
    assert (Path(settings.MEDIA_ROOT) / stored).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_a_static_path_that_climbs_out_is_not_served(client):
    for path in ("/static/../config/settings.py", "/static/%2e%2e/config/settings.py", "/static/..%2fmanage.py"):
        response = client.get(path)
        assert response.status_code in {301, 302, 404}
        assert b"SECRET_KEY" not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_a_revoked_key_reaches_nothing(alice, practice, alices_practice_in_use):
    session, _ = alices_practice_in_use
    key, raw = ApiKey.issue(practice=practice, name="old", created_by=alice)
    key.revoked_at = key.created_at
    key.save(update_fields=["revoked_at"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for path in ("/api/v1/sessions", f"/api/v1/sessions/{session.pk}", f"/api/v1/sessions/{session.pk}/transcript"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_required"
    assert uuid.UUID(str(session.pk))
