"""What every AI provider speaks: the result dataclasses, the two protocols and the one error type.

Providers are adapters over HTTP APIs. They receive plain configuration values, never touch the database,
and turn every failure into a ``ProviderError`` that says whether trying again may help.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

from formats.builtin import TemplateSpec


class ProviderErrorCode(enum.StrEnum):
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"
    RATE_LIMITED = "rate_limited"
    UPSTREAM_FAILURE = "upstream_failure"
    VALIDATION_FAILED = "validation_failed"
    AUTHENTICATION_FAILED = "authentication_failed"
    NOT_FOUND = "not_found"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    BAD_RESPONSE = "bad_response"
    AI_DISABLED = "ai_disabled"


# BAD_RESPONSE is permanent: with a forced tool or a JSON schema, unreadable output means the endpoint or model
# does not honour the contract (or the answer was cut at the token limit), which a retry repeats while paying
# for every attempt. A clinician can still retry the job by hand.
_RETRYABLE_CODES = frozenset(
    {
        ProviderErrorCode.TIMEOUT,
        ProviderErrorCode.CONNECTION_FAILED,
        ProviderErrorCode.RATE_LIMITED,
        ProviderErrorCode.UPSTREAM_FAILURE,
    }
)

_MESSAGES: dict[ProviderErrorCode, str] = {
    ProviderErrorCode.TIMEOUT: "The {service} did not answer in time.",
    ProviderErrorCode.CONNECTION_FAILED: "The {service} could not be reached.",
    ProviderErrorCode.RATE_LIMITED: "The {service} is limiting the rate of requests.",
    ProviderErrorCode.UPSTREAM_FAILURE: "The {service} had a temporary failure.",
    ProviderErrorCode.VALIDATION_FAILED: "The {service} refused the request.",
    ProviderErrorCode.AUTHENTICATION_FAILED: "The {service} refused the API key; an administrator must check it.",
    ProviderErrorCode.NOT_FOUND: "The {service} does not know the configured model or endpoint.",
    ProviderErrorCode.PAYLOAD_TOO_LARGE: "The request was too large for the {service}.",
    ProviderErrorCode.BAD_RESPONSE: "The {service} returned an answer that could not be read.",
    ProviderErrorCode.AI_DISABLED: "AI processing is turned off on this server.",
}


class ProviderError(Exception):
    """A provider call failed. The message is fixed text per code, safe to show a clinician: it never quotes
    the provider's own error text, which can echo back transcript or note content."""

    code: str
    retryable: bool
    status: int | None
    retry_after: float | None
    request_id: str | None

    def __init__(
        self,
        code: ProviderErrorCode | str,
        *,
        service: str = "AI service",
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        request_id: str | None = None,
    ) -> None:
        code = ProviderErrorCode(code)
        self.code = code.value
        self.retryable = code in _RETRYABLE_CODES if retryable is None else retryable
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        message = _MESSAGES[code].format(service=service)
        if status is not None:
            message = f"{message.removesuffix('.')} (HTTP {status})."
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        # Task queues pickle exceptions; the default would call __init__ with the message as the code.
        return _restore_provider_error, (self.message, dict(self.__dict__))

    @classmethod
    def from_status(
        cls,
        status: int,
        *,
        service: str,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> ProviderError:
        return cls(
            code_for_status(status),
            service=service,
            status=status,
            retry_after=parse_retry_after(headers or {}),
            request_id=request_id,
        )


@contextmanager
def reading_response(*, service: str) -> Iterator[None]:
    """Turns an answer without the documented shape into ``BAD_RESPONSE``.

    The SDKs build response objects without validating them, so a compatible server that answers something
    else surfaces as attribute or type errors while the answer is read.
    """
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError):
        raise ProviderError(ProviderErrorCode.BAD_RESPONSE, service=service) from None


def _restore_provider_error(message: str, state: dict[str, Any]) -> ProviderError:
    error = ProviderError.__new__(ProviderError)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


def code_for_status(status: int) -> ProviderErrorCode:
    """The error code for an HTTP status: 408, 409, 429, 5xx and 529 are transient, other 4xx permanent."""
    if status == 429:
        return ProviderErrorCode.RATE_LIMITED
    if status in (408, 409) or status >= 500:
        return ProviderErrorCode.UPSTREAM_FAILURE
    if status in (401, 403):
        return ProviderErrorCode.AUTHENTICATION_FAILED
    if status == 404:
        return ProviderErrorCode.NOT_FOUND
    if status == 413:
        return ProviderErrorCode.PAYLOAD_TOO_LARGE
    return ProviderErrorCode.VALIDATION_FAILED


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date; None if absent
    or unreadable. ``headers`` must look names up case-insensitively (as httpx headers do) or be lower-case."""
    milliseconds = _header(headers, "retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if value is not None else None


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    no_speech_prob: float | None = None
    avg_logprob: float | None = None


@dataclass(frozen=True)
class TranscriptionResult:
    text: str
    language: str | None
    duration: float
    segments: tuple[Segment, ...]
    model: str
    provider_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DraftStatement:
    text: str
    evidence: tuple[int, ...]


@dataclass(frozen=True)
class DraftSection:
    key: str
    statements: tuple[DraftStatement, ...]


@dataclass(frozen=True)
class DraftResult:
    sections: tuple[DraftSection, ...]
    model: str
    prompt_version: str
    usage: dict[str, int]


class Transcriber(Protocol):
    model: str

    def transcribe(
        self, path: Path, *, language: str | None = None, duration: float | None = None
    ) -> TranscriptionResult:
        """Transcribe one audio file within the provider's limits (chunking happens before).

        ``duration`` is the file's audio duration in seconds when the caller knows it (the chunk planner does);
        models that return text without timestamps need it to place their single segment, and measure the file
        themselves when it is not given. Segment ids are 0..n-1 within the file.
        """
        ...


class Drafter(Protocol):
    model: str

    def draft(self, *, template: TemplateSpec, segments: Sequence[Segment]) -> DraftResult:
        """Draft every section of ``template`` from ``segments``; statements cite segment ids."""
        ...
