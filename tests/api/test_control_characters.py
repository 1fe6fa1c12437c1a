"""Free text is text: control characters, and the invisible characters that reorder what is shown, are refused
in client labels, names and notes, on the pages and in the API alike (config.validators)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import ApiKey
from config.validators import multi_line_text, single_line_text
from sessions.models import ClinicalSession
from tests.api.conftest import ApiClient
from tests.factories import NoteFactory

pytestmark = pytest.mark.django_db

HOSTILE = ["AB\x00-12", "AB\x1b[2J", "AB\x08\x08", "AB\u202e21-BA", "AB\u2066x", "AB\x85x", "AB\x7f"]


@pytest.mark.parametrize("text", HOSTILE)
def test_the_shared_validator_refuses_control_characters_on_one_line_or_many(text):
    with pytest.raises(ValidationError):
        single_line_text(text)
    with pytest.raises(ValidationError):
        multi_line_text(text)


def test_line_breaks_are_refused_on_one_line_and_kept_in_a_note():
    with pytest.raises(ValidationError):
        single_line_text("AB\n12")
    multi_line_text("Plan:\n\tReview in two weeks.\r\n")
    single_line_text("Ærøskøbing \u2013 \u201cAB-12\u201d 日本")


@pytest.mark.parametrize("label", HOSTILE)
def test_the_session_page_refuses_a_label_with_control_characters(alice_client, label):
    response = alice_client.post(
        reverse("clinical_sessions:create"),
        {"client_label": label, "occurred_at": "2025-03-14T10:30", "note_type": "soap"},
    )
    assert response.status_code == 400
    assert "control character" in response.content.decode()
    assert not ClinicalSession.objects.exists()


@pytest.mark.parametrize("label", HOSTILE)
def test_the_api_refuses_a_label_with_control_characters(alice_key, label):
    response = ApiClient(alice_key).post_json(
        "/api/v1/sessions", {"client_label": label, "occurred_at": "2025-03-14T10:30:00Z", "note_type": "soap"}
    )
    assert response.status_code == 400
    assert "client_label" in response.json()["error"]["details"]["fields"]
    assert not ClinicalSession.objects.exists()


def test_an_api_key_name_must_be_one_line_of_text(alice_client, practice):
    response = alice_client.post(reverse("accounts:api_keys"), {"name": "EHR\nsync"})
    assert response.status_code == 400
    assert not ApiKey.objects.filter(practice=practice).exists()


def test_a_note_keeps_its_line_breaks_and_refuses_escape_sequences(alice_key, alice_session):
    note = NoteFactory(session=alice_session)
    api = ApiClient(alice_key)
    refused = api.patch_json(
        f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "Review\x1b[8m hidden"}]}
    )
    assert refused.status_code == 400
    accepted = api.patch_json(
        f"/api/v1/notes/{note.pk}", {"version": 1, "sections": [{"key": "plan", "text": "Review.\nCall in a week."}]}
    )
    assert accepted.status_code == 200
