"""What every log line says about where it comes from: the request, the job and the practice, never PHI.

The values live in context variables: the request middleware sets the request id (and, once the caller is
known, the practice), the job runner sets the job and its practice for the length of a run. The filter copies
them onto each record, so a JSON formatter writes them as fields whatever logger wrote the line.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
practice_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("practice_id", default=None)

FIELDS = ("request_id", "job_id", "practice_id")
_VARS = {"request_id": request_id_var, "job_id": job_id_var, "practice_id": practice_id_var}


def bind_practice(practice_id: object) -> None:
    """Name the practice in the rest of this request's (or run's) log lines."""
    practice_id_var.set(str(practice_id) if practice_id is not None else None)


@contextmanager
def log_context(**values: object) -> Iterator[None]:
    """Set some of request_id, job_id, practice_id for the block, and restore them after it."""
    tokens = []
    for name, value in values.items():
        var = _VARS[name]
        tokens.append((var, var.set(str(value) if value is not None else None)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_log_context() -> dict[str, str | None]:
    """The values now set, to be set again in another thread (``log_context(**current_log_context())``): a thread
    starts with none of them."""
    return {name: var.get() for name, var in _VARS.items()}


class LogContextFilter(logging.Filter):
    """Adds request_id, job_id and practice_id to every record (None where unknown); a value the caller passed
    in ``extra`` is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True
