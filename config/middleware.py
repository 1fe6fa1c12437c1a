"""Request correlation: every response carries X-Request-ID and every log line names it. And the caching rule:
nothing a dynamic page or API answer says is kept by a browser or a proxy."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.log_context import LogContextFilter, request_id_var

# A client-supplied id is echoed only when it is short and plain, so it cannot forge log lines.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def current_request_id() -> str:
    return request_id_var.get() or "-"


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The request runs in a copy of the context, so whatever it binds for its log lines (its id, its practice)
        # is gone when it ends and never leaks into the next request the thread serves.
        return contextvars.copy_context().run(self._handle, request)

    def _handle(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _ACCEPTABLE_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestIDLogFilter(LogContextFilter):
    """The log filter under its first name: request_id, job_id and practice_id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        super().filter(record)
        if record.request_id is None:  # type: ignore[attr-defined]
            record.request_id = "-"
        return True


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every answer that passes through Django.

    Pages and API answers carry transcripts, notes and client labels; none may sit in a browser's cache or a
    shared proxy. Static files are answered by WhiteNoise before this middleware (it comes after it in
    ``MIDDLEWARE``) and keep their long-lived caching.
    """

    VALUE = "no-store, private"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # An answer that already says no-store (downloads, never_cache views) says enough.
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = self.VALUE
        return response
