"""Consent to record: the session page's answer, the practice's versioned script, processing that requires it,
and where consent is shown (list, page, exports)."""

from __future__ import annotations

import io

import docx
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from accounts.models import Practice
from jobs.models import Job
from notes.exports import note_export
from sessions.consent import consent_script_save, consent_summary, processing_needs_consent, session_record_consent
from sessions.models import ClinicalSession, ConsentScript
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory, NoteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(alice) -> ClinicalSession:
    return ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice, client_label="CS-1")


def _detail(session: ClinicalSession) -> str:
    return reverse("clinical_sessions:detail", kwargs={"pk": session.pk})


def _consent_url(session: ClinicalSession) -> str:
    return reverse("clinical_sessions:consent", kwargs={"pk": session.pk})


# --- the session page --------------------------------------------------------------------------


def test_the_session_page_shows_the_script_and_keeps_recording_off_until_consent(
    alice, alice_client, session, practice
):
    consent_script_save(
        practice=practice, text="We record to write your notes.", require_before_processing=False, saved_by=alice
    )
    page = alice_client.get(_detail(session)).content.decode()
    assert "We record to write your notes." in page
    assert "Consent script, version 1" in page
    assert 'data-consent="missing"' in page
    assert "Record the client's consent above to enable recording." in page
    assert 'id="recorder-start" aria-describedby="recorder-hint" disabled' in page
    # Uploading stays possible.
    assert 'id="upload-form"' in page


def test_recording_consent_on_the_page_names_the_script_shown_and_who_recorded_it(alice, bob, bob_client, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=bob)
    consent_script_save(practice=practice, text="Version one", require_before_processing=False, saved_by=alice)
    consent_script_save(practice=practice, text="Version two", require_before_processing=False, saved_by=alice)
    response = bob_client.post(_consent_url(session), {"status": "given", "method": "verbal", "script_version": "1"})
    assert response.status_code == 302
    assert response["Location"].endswith("#consent")
    session.refresh_from_db()
    assert session.consent_status == "given"
    assert session.consent_method == "verbal"
    assert session.consent_script.version == 1
    assert session.consent_recorded_by == bob
    assert session.consent_recorded_at is not None
    page = bob_client.get(_detail(session)).content.decode()
    assert 'data-consent="given"' in page
    assert "script version 1" in page


def test_given_consent_needs_a_method_and_a_refusal_is_kept(alice_client, session):
    response = alice_client.post(_consent_url(session), {"status": "given", "method": ""}, follow=True)
    assert "Consent not recorded" in response.content.decode()
    session.refresh_from_db()
    assert session.consent_status == "not_recorded"
    alice_client.post(_consent_url(session), {"status": "declined"})
    session.refresh_from_db()
    assert session.consent_status == "declined"
    assert not session.has_consent


def test_consent_page_actions_need_login_refuse_other_practices_and_the_wrong_method(
    client, charlie_client, alice_client, session
):
    url = _consent_url(session)
    assert client.post(url, {"status": "declined"})["Location"].startswith("/accounts/login/")
    assert charlie_client.post(url, {"status": "declined"}).status_code == 404
    assert alice_client.get(url).status_code == 405
    session.refresh_from_db()
    assert session.consent_status == "not_recorded"


def test_the_session_list_shows_consent(alice, alice_client, practice):
    ClinicalSessionFactory(practice=practice, clinician=alice, consent_status="given", consent_method="written")
    ClinicalSessionFactory(practice=practice, clinician=alice, consent_status="declined")
    page = alice_client.get(reverse("clinical_sessions:list")).content.decode()
    assert "Given (written)" in page
    assert "Declined" in page
    assert '<th scope="col">Consent</th>' in page


# --- the practice's consent script ----------------------------------------------------------------


def test_an_owner_saves_the_script_as_new_versions_and_the_setting(alice, alice_client, practice):
    url = reverse("clinical_sessions:consent_script")
    assert alice_client.get(url).status_code == 200
    alice_client.post(url, {"text": "First words."})
    alice_client.post(url, {"text": "First words.", "require_before_processing": "on"})
    alice_client.post(url, {"text": "Second words.", "require_before_processing": "on"})
    versions = list(ConsentScript.objects.filter(practice=practice).order_by("version").values_list("version", "text"))
    assert versions == [(1, "First words."), (2, "Second words.")]
    assert ConsentScript.objects.get(version=2).created_by == alice
    practice.refresh_from_db()
    assert practice.require_consent_before_processing
    page = alice_client.get(url).content.decode()
    assert "Second words." in page
    assert "Version 1" in page


def test_only_owners_edit_the_script(bob_client, client, practice, alice):
    url = reverse("clinical_sessions:consent_script")
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, {"text": "Mine now."}).status_code == 403
    assert client.get(url)["Location"].startswith("/accounts/login/")
    assert not ConsentScript.objects.exists()


def test_the_script_page_refuses_the_wrong_method(alice_client):
    assert alice_client.put(reverse("clinical_sessions:consent_script")).status_code == 405


def test_an_owner_sees_the_consent_script_link(alice_client, bob_client):
    assert "Consent script" in alice_client.get(reverse("clinical_sessions:list")).content.decode()
    assert "Consent script" not in bob_client.get(reverse("clinical_sessions:list")).content.decode()


# --- processing that requires consent --------------------------------------------------------------


@pytest.fixture
def strict_practice(practice: Practice) -> Practice:
    practice.require_consent_before_processing = True
    practice.save()
    return practice


def test_the_process_button_says_consent_is_required(alice, alice_client, session, strict_practice, settings):
    settings.AI_MODE = "stub"
    recording_replace(session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice)
    response = alice_client.post(reverse("jobs:start", kwargs={"session_id": session.pk}), follow=True)
    assert "requires the client&#x27;s consent before processing" in response.content.decode()
    assert not Job.objects.exists()
    session_record_consent(session=session, status="given", method="verbal", recorded_by=alice)
    alice_client.post(reverse("jobs:start", kwargs={"session_id": session.pk}))
    assert Job.objects.count() == 1


def test_an_upload_without_required_consent_is_stored_but_not_processed(alice_client, session, strict_practice):
    with (AUDIO / "jfk.flac").open("rb") as handle:
        response = alice_client.post(
            reverse("jobs:upload", kwargs={"session_id": session.pk}), {"file": handle}, follow=True
        )
    assert "Recording uploaded. Not processed" in response.content.decode()
    assert session.recording is not None
    assert not Job.objects.exists()


def test_processing_needs_consent_reads_the_session_afresh(alice, session, strict_practice):
    stale = ClinicalSession.objects.get(pk=session.pk)
    assert processing_needs_consent(stale)
    session_record_consent(session=session, status="given", method="written", recorded_by=alice)
    assert not processing_needs_consent(stale)


# --- exports ----------------------------------------------------------------------------------------


def test_exports_carry_one_phi_free_consent_line(alice, session, settings):
    settings.TIME_ZONE = "UTC"
    session_record_consent(session=session, status="given", method="verbal", recorded_by=alice)
    note = NoteFactory(session=session)
    line = consent_summary(session)
    assert line.startswith("Consent: given (verbal), ")
    assert line.endswith(" UTC")
    assert "CS-1" not in line
    assert "Alice" not in line
    text = note_export(note, "txt").content.decode()
    assert f"\r\n{line}\r\n" in text
    document = docx.Document(io.BytesIO(note_export(note, "docx").content))
    header = [paragraph.text for paragraph in document.sections[0].header.paragraphs]
    assert line in header
    assert line in [paragraph.text for paragraph in document.paragraphs]


def test_exports_say_when_consent_was_not_recorded(session):
    note = NoteFactory(session=session)
    assert "\r\nConsent: not recorded\r\n" in note_export(note, "txt").content.decode()


# --- the data migration -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_existing_sessions_with_a_consent_method_become_given():
    executor = MigrationExecutor(connection)
    before = [("clinical_sessions", "0004_consent_status_scripts_and_recording_parts")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    practice = apps.get_model("accounts", "Practice").objects.create(name="Old", slug="old")
    user = apps.get_model("accounts", "User").objects.create(email="old@example.test")
    session_model = apps.get_model("clinical_sessions", "ClinicalSession")
    common = {"practice_id": practice.pk, "clinician_id": user.pk, "occurred_at": "2025-01-01T10:00:00Z"}
    with_method = session_model.objects.create(client_label="A", consent_method="verbal", **common)
    without = session_model.objects.create(client_label="B", consent_method="", **common)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("clinical_sessions", "0005_consent_given_where_method_set")])

    assert ClinicalSession.objects.get(pk=with_method.pk).consent_status == "given"
    assert ClinicalSession.objects.get(pk=without.pk).consent_status == "not_recorded"
