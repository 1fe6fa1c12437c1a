"""The API's shared pieces: the error envelope, the tenant-scoped base view, pagination, download headers.

Every non-2xx answer under /api/ has the shape
``{"error": {"code", "message", "correlation_id", "details"}}`` (docs/api.md), whether it comes from a
view, from DRF (authentication, throttling, parsing) or from Django itself (an unknown path, a crash).

Tenancy is applied once, in ``ApiView.get_queryset``: a request made with an API key sees its practice's
rows; a browser session sees what ``Model.objects.visible_to(user)`` gives. Views load objects only
through ``get_object()`` / ``get_queryset()``, so another practice's object is a 404.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Protocol, cast

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views import defaults
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.metadata import BaseMetadata
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.api import ApiKeyAuthentication, api_key_of
from accounts.models import Practice, User
from accounts.tenancy import current_membership
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


# --- Django's own error pages: JSON under /api/, the normal pages elsewhere --------------------------


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


# --- Base views ----------------------------------------------------------------------------------


class SafeJSONParser(JSONParser):
    """JSON bodies; one nested too deeply for the parser is a 400 like any other malformed body, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the document is nested too deeply.") from None


class JsonWhateverAcceptNegotiation(DefaultContentNegotiation):
    """The API speaks JSON only: an Accept header asking for something else still gets JSON, not a 406."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return (renderers[0], renderers[0].media_type)


class _OwnAuthentication:
    """API views authenticate themselves (DRF), so Django's LoginRequiredMiddleware must let them through.

    OPTIONS is not part of the contract (no CORS): it is answered 405 like any undocumented method, and not
    listed in ``Allow``. Timestamps are rendered in UTC whatever the server's TIME_ZONE (pages use that).
    """

    metadata_class: str | BaseMetadata | None = None
    http_method_names: Sequence[str] = ["get", "post", "put", "patch", "delete", "head"]
    content_negotiation_class: type[BaseContentNegotiation] = JsonWhateverAcceptNegotiation

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        view.login_required = False
        return view

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with timezone.override(dt.UTC):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class PublicApiView(_OwnAuthentication, APIView):
    """An endpoint that authenticates by other means than an API key or session (a signed URL, a token)."""

    authentication_classes = []
    permission_classes = []
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]


class ApiCursorPagination(CursorPagination):
    """Stable pages however many rows arrive meanwhile: ``next``/``previous`` are opaque links."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {"cursor": ["This cursor is not valid; follow next or previous."]}
            ) from None

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["next", "previous", "results"]
        return paginated


class _TenantQuerySet(Protocol):
    """Every tenant model's queryset has ``visible_to(user)`` (accounts.tenancy)."""

    def visible_to(self, user: User) -> QuerySet[Any]: ...


class ApiView(_OwnAuthentication, APIView):
    """Every endpoint that reads or writes a practice's data.

    ``model_queryset`` gives the unscoped rows; ``get_queryset`` scopes them to the caller, and ``get_object``
    loads one of those by the URL's ``pk``. ``practice_lookup`` is the path from the model to its practice.
    """

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]
    pagination_class = ApiCursorPagination
    practice_lookup = "practice_id"
    lookup_url_kwarg = "pk"
    lookup_field = "pk"

    def model_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.model_queryset()
        key = api_key_of(self.request)
        if key is not None:
            return queryset.filter(**{self.practice_lookup: key.practice_id})
        if not isinstance(self.request.user, User):
            return queryset.none()
        return cast(_TenantQuerySet, queryset).visible_to(self.request.user)

    def get_object(self) -> Any:
        lookup = self.kwargs.get(self.lookup_url_kwarg)
        obj = self.get_queryset().filter(**{self.lookup_field: lookup}).first()
        if obj is None:
            raise exceptions.NotFound()
        return obj

    def caller_practice(self) -> Practice:
        """The practice a create belongs to: the key's, or the signed-in user's current one."""
        key = api_key_of(self.request)
        if key is not None:
            return key.practice
        membership = current_membership(self.request.user)
        if membership is None:
            raise ApiError(
                status_code=403, code="permission_denied", message="Your account is not a member of any practice."
            )
        return membership.practice


def paginate(view: ApiView, queryset: QuerySet[Any], serializer: type[serializers.BaseSerializer[Any]]) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    assert page is not None
    return paginator.get_paginated_response(serializer(page, many=True).data)


# --- Downloads -----------------------------------------------------------------------------------


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """Downloads are files whatever the client accepts; their errors are still the JSON envelope."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return (renderers[0], renderers[0].media_type)


# --- OpenAPI -------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=ERROR_CODES)
    message = serializers.CharField()
    correlation_id = serializers.CharField(help_text="The request's X-Request-ID; quote it to support.")
    details = serializers.DictField(
        help_text="More about the error: `fields` for validation errors, `retry_after_seconds` when rate limited."
    )


class ErrorEnvelopeSerializer(serializers.Serializer[Any]):
    error = ErrorSerializer()


_ERROR_DESCRIPTIONS = {
    400: "validation_error: the input is invalid (details.fields names each problem)",
    401: "authentication_required: no valid API key or session",
    403: "permission_denied",
    404: "not_found: no such object in your practice",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone: deleted under the retention policy",
    413: "payload_too_large",
    415: "unsupported_media",
    422: "idempotency_conflict: the Idempotency-Key was used with another request",
    429: "rate_limited: retry after the Retry-After header's seconds",
    503: "ai_disabled: AI processing is switched off on this server",
}


def error_responses(*statuses: int, **described: str) -> dict[int, OpenApiResponse]:
    """Schema entries for the error envelope at these statuses; ``described`` overrides a description
    (keyword ``s409="..."``)."""
    codes = set(statuses) | {401, 405}
    responses = {}
    for code in sorted(codes):
        description = described.get(f"s{code}", _ERROR_DESCRIPTIONS.get(code, "error"))
        responses[code] = OpenApiResponse(ErrorEnvelopeSerializer, description=description)
    return responses


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.api.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ssk_<prefix>_<secret>",
            "description": "An API key of your practice: `Authorization: Bearer ssk_…`.",
        }


def schema_add_common_headers(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every answer carries X-Request-ID, a 429 carries Retry-After."""
    request_id = {
        "description": "The request's correlation id (yours when sent, else generated).",
        "schema": {"type": "string"},
    }
    retry_after = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = request_id
                if str(code) == "429":
                    headers["Retry-After"] = retry_after
    return result
