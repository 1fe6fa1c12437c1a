"""The API's shared pieces: the error envelope and the tenant-scoped base view.

Every non-2xx answer under /api/ has the shape
``{"error": {"code", "message", "correlation_id", "details"}}`` (docs/api.md).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.middleware import current_request_id

logger = logging.getLogger(__name__)

_CODES = {
    400: "validation_error",
    401: "authentication_required",
    402: "plan_limit_exceeded",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media",
    422: "idempotency_conflict",
    429: "rate_limited",
    503: "ai_disabled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "correlation_id": current_request_id(),
            "details": details or {},
        }
    }


class ApiError(exceptions.APIException):
    """An API error with an explicit envelope code."""

    def __init__(self, *, status_code: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.envelope_code = code
        self.details = details or {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, ApiError):
        return Response(error_body(exc.envelope_code, str(exc.detail), exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.error("unhandled API error", exc_info=exc)
        return Response(
            error_body("internal_error", "Something went wrong on our side; the error has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    code = _CODES.get(response.status_code, "error")
    details: dict[str, Any] = {}
    message = "The request could not be processed."
    if isinstance(exc, exceptions.ValidationError):
        details = {"fields": exc.detail}
        message = "Some fields are invalid; see details.fields."
    elif isinstance(exc, exceptions.APIException):
        message = str(exc.detail)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        details = {"retry_after_seconds": int(wait)}
    response.data = error_body(code, message, details)
    return response


def json_error(request: HttpRequest, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)
