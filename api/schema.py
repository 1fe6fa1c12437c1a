"""The OpenAPI side of the API: the error envelope's schema, the API-key security scheme, common headers."""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.errors import ERROR_CODES

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": "^[!-~]{1,255}$", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Repeat a create safely: a repeat gets the first answer back (kept 24 hours).",
)


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
    target_class = "api.authentication.ApiKeyAuthentication"
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


class EndpointAutoSchema(AutoSchema):
    """Describes an endpoint by its own docstring only.

    drf-spectacular reads docstrings with ``inspect.getdoc``, which falls back to a base class's: an endpoint
    without one would publish the base view's notes for maintainers (how tenancy is applied) as its description.
    """

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular takes no arguments here
        action_or_method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = inspect.cleandoc(action_or_method.__doc__) if action_or_method and action_or_method.__doc__ else ""
        return own or inspect.cleandoc(type(self.view).__dict__.get("__doc__") or "")
