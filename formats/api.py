"""Integrator API for note formats (``templates``): the built-in ones and the practice's own (docs/api.md).

Everyone who can call the API reads them; changing the practice's own takes an API key or a signed-in owner or
admin. Built-in formats are read-only: changing or deleting one is ``403 permission_denied``. Deleting a format
that a session or note names retires it instead (200, the format with ``retired: true``); otherwise it is
deleted (204).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.entitlements import PlanLimitExceeded
from accounts.models import Membership, Practice
from api.authentication import api_key_of
from api.errors import ApiError, plan_limit_error
from api.idempotency import idempotent_response, json_fingerprint
from api.schema import IDEMPOTENCY_PARAMETER, error_responses
from api.views import ApiView
from formats.builtin import BUILTIN_TEMPLATES, FormatLength, TemplateSpec
from formats.catalogue import practice_formats, spec_from_row
from formats.examples import NoHeadingsFound, propose_format_from_example
from formats.models import NoteTemplate
from formats.services import (
    FormatInvalid,
    Removal,
    format_create,
    format_delete,
    format_restore,
    format_retire,
    format_update,
)
from formats.validation import (
    MAX_EXAMPLE_LENGTH,
    MAX_HEADING_LENGTH,
    MAX_INSTRUCTION_LENGTH,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SECTIONS,
    MIN_SECTIONS,
    check_format_key,
    clean_example,
    clean_line,
)

# --- Resources -------------------------------------------------------------------------------------


class TemplateSectionSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Names the section in the note's sections.")
    heading = serializers.CharField()
    instruction = serializers.CharField(help_text="What the drafting model writes in this section.")


class TemplateSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="What a session's `note_type` names.")
    name = serializers.CharField()
    builtin = serializers.BooleanField(help_text="Built-in formats are the same for every practice and read-only.")
    retired = serializers.BooleanField(help_text="Not offered for new sessions; the notes written in it keep it.")
    length = serializers.ChoiceField(choices=FormatLength.choices, help_text="How long drafted notes should be.")
    sections = TemplateSectionSerializer(many=True)


class TemplateListSerializer(serializers.Serializer[Any]):
    results = TemplateSerializer(many=True)


def template_data(spec: TemplateSpec, *, builtin: bool = False, retired: bool = False) -> dict[str, Any]:
    return {
        "key": spec.key,
        "name": spec.name,
        "builtin": builtin,
        "retired": retired,
        "length": spec.length,
        "sections": [{"key": s.key, "heading": s.heading, "instruction": s.instruction} for s in spec.sections],
    }


def _row_data(row: NoteTemplate) -> dict[str, Any]:
    return template_data(spec_from_row(row), retired=row.is_retired)


def _checked(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except ValidationError as error:
        raise serializers.ValidationError(list(error.messages)) from None


class TemplateSectionInputSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_KEY_LENGTH,
        help_text="Lowercase letters, digits and underscores; derived from the heading when omitted. "
        "Keep a section's key when renaming its heading.",
    )
    heading = serializers.CharField(max_length=MAX_HEADING_LENGTH, trim_whitespace=False)
    instruction = serializers.CharField(max_length=MAX_INSTRUCTION_LENGTH, trim_whitespace=False)

    def validate_heading(self, value: str) -> str:
        return str(_checked(lambda v: clean_line(v, what="heading", max_length=MAX_HEADING_LENGTH), value))

    def validate_instruction(self, value: str) -> str:
        return str(_checked(lambda v: clean_line(v, what="instruction", max_length=MAX_INSTRUCTION_LENGTH), value))


def _sections_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=TemplateSectionInputSerializer(),
        min_length=MIN_SECTIONS,
        max_length=MAX_SECTIONS,
        help_text=f"{MIN_SECTIONS} to {MAX_SECTIONS} sections, in the order the note shows them.",
        **kwargs,
    )


class TemplateCreateSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(
        max_length=MAX_KEY_LENGTH,
        trim_whitespace=False,
        help_text="Lowercase letters, digits, '-' and '_'; unique in the practice, not a built-in key. "
        "Never changes: sessions and notes name the format by it.",
    )
    name = serializers.CharField(max_length=MAX_NAME_LENGTH, trim_whitespace=False)
    length = serializers.ChoiceField(choices=FormatLength.choices, default=FormatLength.STANDARD)
    sections = _sections_field()

    def validate_key(self, value: str) -> str:
        return str(_checked(check_format_key, value))

    def validate_name(self, value: str) -> str:
        return str(_checked(lambda v: clean_line(v, what="name", max_length=MAX_NAME_LENGTH), value))


class TemplateUpdateSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(
        required=False, max_length=MAX_KEY_LENGTH, help_text="May be sent, but only with the format's own key."
    )
    name = serializers.CharField(required=False, max_length=MAX_NAME_LENGTH, trim_whitespace=False)
    length = serializers.ChoiceField(choices=FormatLength.choices, required=False)
    sections = _sections_field(required=False)
    retired = serializers.BooleanField(
        required=False, help_text="true retires the format (no new sessions use it); false offers it again."
    )

    def validate_name(self, value: str) -> str:
        return str(_checked(lambda v: clean_line(v, what="name", max_length=MAX_NAME_LENGTH), value))


class TemplateExampleSerializer(serializers.Serializer[Any]):
    example = serializers.CharField(
        trim_whitespace=False,
        max_length=MAX_EXAMPLE_LENGTH + 1000,
        help_text="A note written the way the practice likes, as plain text. Headings on lines of their own "
        "(UPPERCASE, '## Heading', 'Heading:', '**Heading**') become sections. It is not stored.",
    )

    def validate_example(self, value: str) -> str:
        return str(_checked(clean_example, value))


def _fields_error(errors: dict[str, list[str]]) -> exceptions.ValidationError:
    """The service's dotted field names (``sections.2.heading``) as the body's shape."""
    nested: dict[str, Any] = {}
    for field, messages in errors.items():
        node = nested
        *parents, leaf = field.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = messages
    return exceptions.ValidationError(nested)


def _builtin_read_only(key: str) -> ApiError:
    return ApiError(
        status_code=403,
        code="permission_denied",
        message=f"“{key}” is a built-in format and cannot be changed; create a format of your own from it.",
        details={"reason": "builtin_read_only"},
    )


# --- Views ---------------------------------------------------------------------------------------


class TemplateScoped(ApiView):
    lookup_url_kwarg = "key"
    lookup_field = "key"

    def model_queryset(self) -> QuerySet[Any]:
        return NoteTemplate.objects.all()

    def own_formats(self) -> QuerySet[NoteTemplate]:
        """The caller's practice's formats (a user in several practices works in one, as on the pages)."""
        return self.get_queryset().filter(practice=self.caller_practice())

    def require_manager(self, practice: Practice) -> None:
        if api_key_of(self.request) is not None:
            return
        user = self.request.user
        membership = Membership.objects.filter(practice=practice, user=user).first() if user.is_authenticated else None
        if membership is None or not membership.sees_whole_practice:
            raise ApiError(
                status_code=403,
                code="permission_denied",
                message="Only the practice's owners and admins change its formats.",
            )


class TemplateListCreate(TemplateScoped):
    @extend_schema(
        operation_id="templates_list",
        summary="List note formats",
        description="The built-in formats, then the practice's own in its chosen order (retired ones too, marked).",
        responses={200: TemplateListSerializer, **error_responses(403)},
    )
    def get(self, request: Request) -> Response:
        practice = self.caller_practice()
        results = [template_data(spec, builtin=True) for spec in BUILTIN_TEMPLATES.values()]
        results.extend(_row_data(row) for row in practice_formats(practice, include_retired=True))
        return Response({"results": results})

    @extend_schema(
        operation_id="templates_create",
        summary="Create a note format",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=TemplateCreateSerializer,
        responses={
            201: TemplateSerializer,
            **error_responses(
                400, 402, 403, 409, 422, s402="plan_limit_exceeded: the practice's plan leaves out custom formats"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        practice = self.caller_practice()
        self.require_manager(practice)
        fingerprint = json_fingerprint(request, request.data)
        return idempotent_response(
            request=request, practice=practice, fingerprint=fingerprint, create=lambda: self._create(practice)
        )

    def _create(self, practice: Practice) -> Response:
        serializer = TemplateCreateSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            row = format_create(
                practice=practice, key=data["key"], name=data["name"], length=data["length"], sections=data["sections"]
            )
        except FormatInvalid as invalid:
            raise _fields_error(invalid.errors) from None
        except PlanLimitExceeded as refused:
            raise plan_limit_error(refused) from None
        return Response(_row_data(row), status=status.HTTP_201_CREATED)


class TemplateDetail(TemplateScoped):
    def _own(self, key: str) -> NoteTemplate:
        row = self.own_formats().filter(key=key).first()
        if row is None:
            raise exceptions.NotFound()
        return row

    @extend_schema(
        operation_id="templates_retrieve",
        summary="Read a note format",
        responses={200: TemplateSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        if key in BUILTIN_TEMPLATES:
            return Response(template_data(BUILTIN_TEMPLATES[key], builtin=True))
        return Response(_row_data(self._own(key)))

    @extend_schema(
        operation_id="templates_partial_update",
        summary="Change a note format",
        description="Send only what changes. Notes already written keep the sections they were drafted with.",
        request=TemplateUpdateSerializer,
        responses={
            200: TemplateSerializer,
            **error_responses(400, 403, 404, s403="permission_denied: a built-in format, or not an owner or admin"),
        },
    )
    def patch(self, request: Request, key: str) -> Response:
        if key in BUILTIN_TEMPLATES:
            raise _builtin_read_only(key)
        row = self._own(key)
        self.require_manager(row.practice)
        serializer = TemplateUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "key" in data and data["key"] != row.key:
            raise exceptions.ValidationError({"key": ["A format's key cannot change; create a new format instead."]})
        if {"name", "length", "sections"} & data.keys():
            sections = data.get("sections", row.sections)
            try:
                format_update(
                    template=row,
                    name=data.get("name", row.name),
                    length=data.get("length", row.length),
                    sections=sections,
                )
            except FormatInvalid as invalid:
                raise _fields_error(invalid.errors) from None
        if data.get("retired") is True:
            format_retire(template=row)
        elif data.get("retired") is False:
            format_restore(template=row)
        return Response(_row_data(row))

    @extend_schema(
        operation_id="templates_destroy",
        summary="Delete (or retire) a note format",
        description="Deletes the format; one that a session or note names is retired instead and returned.",
        responses={
            200: OpenApiResponse(TemplateSerializer, description="In use, so retired rather than deleted."),
            204: OpenApiResponse(description="Deleted."),
            **error_responses(403, 404, s403="permission_denied: a built-in format, or not an owner or admin"),
        },
    )
    def delete(self, request: Request, key: str) -> Response:
        if key in BUILTIN_TEMPLATES:
            raise _builtin_read_only(key)
        row = self._own(key)
        self.require_manager(row.practice)
        if format_delete(template=row) == Removal.RETIRED:
            return Response(_row_data(row))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateFromExample(TemplateScoped):
    @extend_schema(
        operation_id="templates_from_example",
        summary="Propose a note format from an example note",
        description="Reads the headings of the example and proposes a format with an instruction per section, "
        "to adjust and create with `POST /templates`. Nothing is stored: neither the example nor the proposal.",
        request=TemplateExampleSerializer,
        responses={
            200: TemplateSerializer,
            **error_responses(400, 403, s400="validation_error: no example, or no heading found in it"),
        },
    )
    def post(self, request: Request) -> Response:
        self.caller_practice()
        serializer = TemplateExampleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            proposal = propose_format_from_example(serializer.validated_data["example"])
        except NoHeadingsFound as error:
            raise exceptions.ValidationError({"example": [str(error)]}) from None
        spec = TemplateSpec(key=proposal.key, name=proposal.name, sections=proposal.sections, length=proposal.length)
        response = Response(template_data(spec))
        response["Cache-Control"] = "no-store"
        return response
