"""Staff see what support needs, not PHI: every admin page, of every registered model, leaves out client labels,
file names, transcript, note, draft, revision and addendum text. Reading text takes the audited reveal."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.models import ApiKey, User
from integrations.models import WebhookEndpoint
from jobs.notifications import notify_job_finished
from notes.models import Addendum, Note, NoteRevision
from tests.support.audit import ADDENDUM_WORDS, NOTE_WORDS, PHI_STRINGS, processed_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(practice, alice) -> Client:
    done = processed_session(practice=practice, clinician=alice)
    note = done.note
    Addendum.objects.create(note=note, text=ADDENDUM_WORDS, author=alice)
    NoteRevision.objects.create(note=note, version=note.version + 1, sections=note.sections, source="clinician")
    Note.objects.filter(pk=note.pk).update(pending_draft={"sections": [{"key": "plan", "text": NOTE_WORDS}]})
    WebhookEndpoint.objects.create(practice=practice, url="https://ehr.example.org/hook", secret="s", created_by=alice)
    notify_job_finished(done.job.pk)
    ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    staff = User.objects.create_superuser(email="support@sessionscribe.test", password="x")
    client = Client()
    client.force_login(staff)
    return client


def _admin_pages() -> list[tuple[str, type]]:
    return sorted(
        ((f"{model._meta.app_label}_{model._meta.model_name}", model) for model in admin.site._registry),
        key=lambda pair: pair[0],
    )


def _leaks(html: str) -> list[str]:
    lowered = html.lower()
    return [phi for phi in PHI_STRINGS if phi.lower() in lowered]


@pytest.mark.parametrize(("name", "model"), _admin_pages(), ids=[name for name, _ in _admin_pages()])
def test_no_admin_page_shows_phi(staff_client, name, model):
    pages = [reverse(f"admin:{name}_changelist")]
    for obj in model._default_manager.all()[:3]:
        for view in ("change", "history", "delete"):
            try:
                pages.append(reverse(f"admin:{name}_{view}", args=[obj.pk]))
            except NoReverseMatch:
                continue

    for url in pages:
        response = staff_client.get(url)
        assert response.status_code in {200, 403}, url
        assert _leaks(response.content.decode()) == [], url


def test_the_session_list_in_the_admin_cannot_be_searched_by_client_label(staff_client):
    from tests.support.audit import CLIENT_LABEL

    response = staff_client.get(reverse("admin:clinical_sessions_clinicalsession_changelist"), {"q": CLIENT_LABEL})

    assert "0 results" in response.content.decode() or "0 clinical sessions" in response.content.decode()
