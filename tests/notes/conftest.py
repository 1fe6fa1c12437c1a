"""Sessions and notes of the fixed cast: Alice runs one session, Bob another, both in Alder Clinic."""

from __future__ import annotations

import pytest

from accounts.models import Practice, User
from notes.models import Note
from notes.services import note_open
from sessions.models import ClinicalSession
from tests.factories import ClinicalSessionFactory


@pytest.fixture
def alice_session(practice: Practice, alice: User) -> ClinicalSession:
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=practice, clinician=alice, client_label="AA-017", note_type="soap"
    )
    return session


@pytest.fixture
def bob_session(practice: Practice, bob: User) -> ClinicalSession:
    session: ClinicalSession = ClinicalSessionFactory.create(
        practice=practice, clinician=bob, client_label="BB-042", note_type="dap"
    )
    return session


@pytest.fixture
def alice_note(alice_session: ClinicalSession, alice: User) -> Note:
    return note_open(session=alice_session, opened_by=alice)


@pytest.fixture
def bob_note(bob_session: ClinicalSession, bob: User) -> Note:
    return note_open(session=bob_session, opened_by=bob)
