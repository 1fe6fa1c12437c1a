"""The error envelope of every non-2xx answer under /api/:
``{"error": {"code", "message", "correlation_id", "details"}}`` (docs/api.md), whether it comes from a view,
from DRF (authentication, throttling, parsing) or from Django itself (an unknown path, a crash)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.entitlements import PlanLimitExceeded
from config.middleware import current_request_id

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

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
    500: "internal_error",
    503: "ai_disabled",
}
# Codes that share a status with another: a 409 is "conflict" unless the view says "consent_required".
ERROR_CODES = sorted({*_CODES.values(), "consent_required"})


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


def plan_limit_error(refused: PlanLimitExceeded) -> ApiError:
    """The 402 of a refusal of the practice's plan (billing), with its reason in ``details.reason``."""
    return ApiError(
        status_code=402,
        code="plan_limit_exceeded",
        message=f"{refused.message} An owner of the practice can upgrade its plan on the billing page.",
        details={"reason": str(refused.reason), **refused.details},
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, ApiError):
        return _logged(Response(error_body(exc.envelope_code, str(exc.detail), exc.details), status=exc.status_code))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="payload_too_large",
            message="The request body is too large.",
        )
        return exception_handler(exc, context)
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request could not be read.")
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
        message = f"Too many requests; retry in {int(wait)} seconds."
    response.data = error_body(code, message, details)
    return _logged(response)


def _logged(response: Response) -> Response:
    # Only the status and the envelope code: messages may quote input, and input may hold PHI.
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    code = response.data["error"]["code"] if isinstance(response.data, dict) and "error" in response.data else "-"
    logger.log(level, "API answered %s %s", response.status_code, code)
    return response


def json_error(
    request: HttpRequest | None, status_code: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status_code)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error(request, 400, "validation_error", "The request could not be read.")
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error(request, 403, "permission_denied", "You may not do this.")
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return json_error(request, 404, "not_found", "There is nothing at this path; see /api/v1/docs.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error(
            request, 500, "internal_error", "Something went wrong on our side; the error has been logged."
        )
    return defaults.server_error(request)


@csrf_exempt  # it changes nothing, and a CSRF refusal would hide the 404 (or the API's JSON envelope)
@login_not_required
def not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """The last URL pattern, taking any path no other pattern takes.

    With DEBUG on (the demo), Django answers an unknown path with its own debug page and never calls
    ``handler404``; ending the URLconf here gives the product's page, or the API's JSON envelope, in every mode.
    A path that only lacks its trailing slash is still redirected, as ``APPEND_SLASH`` would.
    """
    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        with_slash = request.path_info + "/"
        try:
            match = resolve(with_slash)
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    return handler404(request, Http404())


# Headers an error answer keeps when it is rewritten into the envelope.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiErrorEnvelopeMiddleware:
    """Every error answer under /api/ is the JSON envelope, whatever made it: Django's debug pages (DEBUG on),
    a CSRF refusal, a ``405`` from a plain Django view, a crash in a middleware. An answer that is already JSON is
    left as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code = _CODES.get(response.status_code, "error")
        if response.status_code >= 500:
            code, message = "internal_error", "Something went wrong on our side; the error has been logged."
        else:
            message = _MESSAGES.get(code, "The request could not be processed.")
        envelope = json_error(request, response.status_code, code, message)
        for header in _KEPT_HEADERS:
            if header in response:
                envelope[header] = response[header]
        return envelope


_MESSAGES = {
    "validation_error": "The request could not be read.",
    "authentication_required": "Authentication is required.",
    "permission_denied": "You may not do this.",
    "not_found": "There is nothing at this path; see /api/v1/docs.",
    "method_not_allowed": "This method is not allowed here.",
    "payload_too_large": "The request body is too large.",
    "rate_limited": "Too many requests; retry later.",
}


class NotFoundPageMiddleware:
    """With DEBUG on, a view's ``Http404`` also gets the product's page (or the API envelope), not the debug one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return handler404(request, exception)
        return None
