"""The one backoff formula, shared by pipeline jobs and webhook deliveries."""

from __future__ import annotations

from config.backoff import backoff_seconds


def test_each_attempt_doubles_the_wait_from_the_base():
    assert [backoff_seconds(n, base=10, cap=1800) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]


def test_the_wait_never_passes_the_cap():
    assert backoff_seconds(20, base=10, cap=1800) == 1800
    assert backoff_seconds(5000, base=30, cap=21600) == 21600


def test_a_longer_retry_after_is_honoured_up_to_the_cap():
    assert backoff_seconds(1, base=10, cap=1800, retry_after=90) == 90
    assert backoff_seconds(1, base=10, cap=1800, retry_after=1) == 10
    assert backoff_seconds(1, base=10, cap=1800, retry_after=86400) == 1800


def test_a_first_attempt_waits_the_base():
    assert backoff_seconds(0, base=10, cap=1800) == 10
