"""The lines every process writes, JSON by default: one object per record, with request_id, job_id and
practice_id, and never an exception's message.

Log messages are written by this code base and name ids, codes and counts. An exception's message is not: it can
quote what a client sent or what a provider answered (a transcript, a note). Tracebacks are therefore written as
the stack (files, lines, functions, source lines) and the exception's type, without its message or notes.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

from pythonjsonlogger.json import JsonFormatter

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def traceback_without_messages(exc_info: ExcInfo) -> str:
    """The traceback as Python prints it (chained exceptions included), each exception by its type alone."""
    chain: list[BaseException] = []
    current: BaseException | None = exc_info[1]
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for position, error in enumerate(reversed(chain)):
        if position:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(f"{type(error).__module__}.{type(error).__qualname__}\n")
    return "".join(parts).rstrip("\n")


class PhiSafeJsonFormatter(JsonFormatter):
    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 — logging's name
        return traceback_without_messages(ei)


class PhiSafePlainFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 — logging's name
        return traceback_without_messages(ei)
