"""The API's base views, parsing, content negotiation and pagination.

Tenancy is applied once, in ``ApiView.get_queryset``: a request made with an API key sees its practice's
rows; a browser session sees what ``Model.objects.visible_to(user)`` gives. Views load objects only
through ``get_object()`` / ``get_queryset()``, so another practice's object is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol, cast

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions, serializers
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

from accounts.models import Practice, User
from accounts.tenancy import current_membership
from api.authentication import ApiKeyAuthentication, api_key_of
from api.errors import ApiError


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


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """Downloads are files whatever the client accepts; their errors are still the JSON envelope."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return (renderers[0], renderers[0].media_type)
