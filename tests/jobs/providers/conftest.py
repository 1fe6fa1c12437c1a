"""Provider tests run the real SDKs against the loopback fakes."""

from __future__ import annotations

from tests.fakes.fixtures import fake_anthropic, fake_openai

__all__ = ["fake_anthropic", "fake_openai"]
