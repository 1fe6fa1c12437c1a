"""The fixed cast: Alice owns a practice, Bob is a clinician in it, Charlie has his own practice
and must see nothing of theirs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Membership, Practice, User
from tests.factories import MembershipFactory, PracticeFactory, UserFactory

FIXTURES = Path(__file__).parent / "fixtures"
AUDIO = FIXTURES / "audio"


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """Tests marked ``postgres`` need real concurrency or row locks; elsewhere they skip, saying so."""
    if request.node.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            f"needs PostgreSQL (real concurrency and row locks); this run uses {connection.vendor}: "
            "set DATABASE_URL=postgres://… to run it"
        )


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """allauth keeps its per-address login counts and used TOTP codes in the cache: each test starts without
    another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _clean_media_root() -> Iterator[None]:
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def practice(db: None) -> Practice:
    return PracticeFactory(name="Alder Clinic", slug="alder-clinic")


@pytest.fixture
def alice(practice: Practice) -> User:
    user = UserFactory(email="alice@alder.test", full_name="Alice Alder")
    MembershipFactory(user=user, practice=practice, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def bob(practice: Practice) -> User:
    user = UserFactory(email="bob@alder.test", full_name="Bob Birch")
    MembershipFactory(user=user, practice=practice, role=Membership.Role.CLINICIAN)
    return user


@pytest.fixture
def other_practice(db: None) -> Practice:
    return PracticeFactory(name="Cedar Practice", slug="cedar-practice")


@pytest.fixture
def charlie(other_practice: Practice) -> User:
    user = UserFactory(email="charlie@cedar.test", full_name="Charlie Cedar")
    MembershipFactory(user=user, practice=other_practice, role=Membership.Role.OWNER)
    return user


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice: User) -> Client:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return _client_for(bob)


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    return _client_for(charlie)
