from __future__ import annotations

import pickle
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from jobs.providers.base import ProviderError, ProviderErrorCode, code_for_status, parse_retry_after


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, ProviderErrorCode.VALIDATION_FAILED, False),
        (401, ProviderErrorCode.AUTHENTICATION_FAILED, False),
        (403, ProviderErrorCode.AUTHENTICATION_FAILED, False),
        (404, ProviderErrorCode.NOT_FOUND, False),
        (408, ProviderErrorCode.UPSTREAM_FAILURE, True),
        (409, ProviderErrorCode.UPSTREAM_FAILURE, True),
        (413, ProviderErrorCode.PAYLOAD_TOO_LARGE, False),
        (422, ProviderErrorCode.VALIDATION_FAILED, False),
        (429, ProviderErrorCode.RATE_LIMITED, True),
        (500, ProviderErrorCode.UPSTREAM_FAILURE, True),
        (502, ProviderErrorCode.UPSTREAM_FAILURE, True),
        (503, ProviderErrorCode.UPSTREAM_FAILURE, True),
        (529, ProviderErrorCode.UPSTREAM_FAILURE, True),
    ],
)
def test_http_status_maps_to_code_and_retryability(status, code, retryable):
    error = ProviderError.from_status(status, service="transcription service")

    assert code_for_status(status) == code
    assert error.code == code.value
    assert error.retryable is retryable
    assert error.status == status


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (ProviderErrorCode.TIMEOUT, True),
        (ProviderErrorCode.CONNECTION_FAILED, True),
        (ProviderErrorCode.BAD_RESPONSE, False),
        (ProviderErrorCode.AI_DISABLED, False),
    ],
)
def test_errors_without_status_know_whether_to_retry(code, retryable):
    assert ProviderError(code).retryable is retryable
    assert ProviderError(code.value).code == code.value


def test_error_message_names_the_service_and_status():
    error = ProviderError.from_status(503, service="drafting service")

    assert str(error) == "The drafting service had a temporary failure (HTTP 503)."
    assert error.message == str(error)


def test_retry_after_in_seconds_is_read():
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5


def test_retry_after_as_http_date_is_seconds_from_now():
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)

    assert parse_retry_after({"Retry-After": format_datetime(later, usegmt=True)}, now=now.timestamp()) == 30.0


def test_retry_after_in_the_past_means_now():
    assert parse_retry_after({"Retry-After": "Tue, 01 Jan 2002 00:00:00 GMT"}) == 0.0


def test_retry_after_ms_takes_precedence():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "soon"}, {"Retry-After": ""}])
def test_missing_or_unreadable_retry_after_is_none(headers):
    assert parse_retry_after(headers) is None


def test_retry_after_header_is_kept_on_the_error():
    error = ProviderError.from_status(429, service="drafting service", headers={"Retry-After": "12"})

    assert error.retry_after == 12.0
    assert error.retryable is True


def test_error_survives_pickling_by_a_task_queue():
    error = ProviderError.from_status(429, service="drafting service", headers={"Retry-After": "5"}, request_id="req_1")

    restored = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object

    assert type(restored) is ProviderError
    assert (restored.code, restored.retryable, restored.status, restored.retry_after, restored.request_id) == (
        "rate_limited",
        True,
        429,
        5.0,
        "req_1",
    )
    assert str(restored) == str(error)
