"""The fixed cast: Alice owns a practice, Bob is a clinician in it, Charlie has his own practice
and must see nothing of theirs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Membership, Practice, User
from tests.factories import MembershipFactory, PracticeFactory, UserFactory
from tests.support.redis_broker import RedisBroker, redis_broker_for_test
from tests.support.s3 import MotoS3Server, S3Bucket, bucket_create, moto_s3_session

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


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[tuple[MotoS3Server, dict[str, object]]]:
    """One moto S3 server for the test session (per xdist worker), started the first time a test asks."""
    yield from moto_s3_session()


@pytest.fixture
def s3_bucket(moto_s3: tuple[MotoS3Server, dict[str, object]], settings: Settings) -> Iterator[S3Bucket]:
    """A fresh bucket on the moto server, and the app's default storage pointed at it with the options
    config.settings gives S3 in production."""
    server, template = moto_s3
    bucket = bucket_create(server, template)
    settings.STORAGES = {**settings.STORAGES, "default": bucket.storage}
    yield bucket
    bucket.empty_and_delete()


@pytest.fixture
def redis_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisBroker]:
    """django-q2's Redis broker on a database number of this test process's own, emptied before and after;
    skipped, saying why, when no Redis answers."""
    yield from redis_broker_for_test(monkeypatch)


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
