from __future__ import annotations

import pytest

from sessions.models import ClinicalSession
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.fakes.fixtures import fake_anthropic, fake_openai

__all__ = ["fake_anthropic", "fake_openai", "recorded_session"]


@pytest.fixture
def recorded_session(alice):
    """Alice's session with the short doctor-patient dialogue uploaded."""

    def make(name: str = "dialogue_short.webm", note_type: str = "medical") -> ClinicalSession:
        session = ClinicalSessionFactory(
            practice=alice.memberships.get().practice, clinician=alice, note_type=note_type
        )
        recording_replace(session=session, upload_path=AUDIO / name, original_filename=name, uploaded_by=alice)
        session.refresh_from_db()
        return session

    return make
