"""The scale-out tests: S3 storage (moto), the Redis broker, several worker and web processes at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiKey, Practice, User
from tests.fakes.fixtures import fake_anthropic, fake_openai

__all__ = ["fake_anthropic", "fake_openai"]


class ApiClient(Client):
    """The test client sending an API key as a bearer token."""

    def __init__(self, raw_key: str, **defaults: Any) -> None:
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {raw_key}", **defaults)


@pytest.fixture
def alice_key(alice: User, practice: Practice) -> str:
    _, raw = ApiKey.issue(practice=practice, name="EHR sync", created_by=alice)
    return raw


@pytest.fixture
def api(alice_key: str) -> ApiClient:
    return ApiClient(alice_key)
