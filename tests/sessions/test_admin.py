from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from sessions.models import ClinicalSession
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def recorded(alice):
    session = ClinicalSessionFactory(
        practice=alice.memberships.get().practice, clinician=alice, client_label="Jane Q Client"
    )
    recording_replace(
        session=session, upload_path=AUDIO / "jfk.flac", original_filename="jane-q-client.flac", uploaded_by=alice
    )
    return session


def test_staff_pages_never_show_the_client_label_or_file_name(staff_client, recorded):
    pages = [
        reverse("admin:clinical_sessions_clinicalsession_changelist"),
        reverse("admin:clinical_sessions_clinicalsession_change", args=[recorded.pk]),
        reverse("admin:clinical_sessions_recording_changelist"),
        reverse("admin:clinical_sessions_recording_change", args=[recorded.recording.pk]),
    ]
    for url in pages:
        content = staff_client.get(url).content.decode()
        assert "Jane Q Client" not in content, url
        assert "jane-q-client" not in content, url


def test_staff_deleting_a_session_deletes_its_files(staff_client, recorded, django_capture_on_commit_callbacks):
    name = recorded.recording.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:clinical_sessions_clinicalsession_delete", args=[recorded.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not ClinicalSession.objects.filter(pk=recorded.pk).exists()
    assert not default_storage.exists(name)


def test_staff_choose_a_sessions_note_format_from_its_practices_formats(staff_client, recorded):
    from django.urls import reverse

    page = staff_client.get(reverse("admin:clinical_sessions_clinicalsession_change", args=[recorded.pk]))
    html = page.content.decode()
    assert '<select name="note_type"' in html
    assert '<option value="dap"' in html
    response = staff_client.post(
        reverse("admin:clinical_sessions_clinicalsession_change", args=[recorded.pk]),
        {"occurred_at_0": "2026-11-20", "occurred_at_1": "10:00:00", "note_type": "no-such-format"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
