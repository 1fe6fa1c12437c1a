"""Integrator API for notes: read, edit over a version, sign, download (docs/api.md).

Through an API key, edits are recorded against the key's acting member and a signature is recorded in the
name of the session's clinician: the integration asserts that the clinician approved the note.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from api.authentication import acting_user, api_key_of
from api.errors import ApiError
from api.schema import error_responses
from api.views import ApiView, IgnoreAcceptNegotiation
from config.downloads import set_download_headers
from config.validators import multi_line_text
from notes.content import Flag, FlagKind, Section, Statement
from notes.exports import DOCX_CONTENT_TYPE, EXPORT_FORMATS, note_export
from notes.forms import SECTION_MAX_CHARS
from notes.models import Note
from notes.services import NoteConflict, NoteLocked, note_save, note_sign

# --- Resources -------------------------------------------------------------------------------------


class NoteFlagSerializer(serializers.Serializer[Flag]):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    message = serializers.CharField(help_text="What to check, in words a clinician understands.")
    evidence = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the transcript segments the flag points to."
    )


class NoteStatementSerializer(serializers.Serializer[Statement]):
    text = serializers.CharField(allow_blank=True)
    evidence = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the transcript segments that support it."
    )
    flags = NoteFlagSerializer(many=True)


class NoteSectionSerializer(serializers.Serializer[Section]):
    key = serializers.CharField()
    heading = serializers.CharField()
    text = serializers.CharField(allow_blank=True, default="")
    evidence = serializers.ListField(
        child=serializers.IntegerField(), default=list, help_text="Ids of the transcript segments that support it."
    )
    flags = serializers.ListField(
        source="flag_kinds",
        child=serializers.CharField(),
        default=list,
        help_text="The kinds of flag on the section: edited, unsupported (statements without evidence), …",
    )
    statements = NoteStatementSerializer(
        many=True,
        required=False,
        help_text="The sentences of the section, each with its evidence and flags; empty before a draft.",
    )


class NoteSerializer(serializers.ModelSerializer[Note]):
    session_id = serializers.UUIDField(read_only=True)
    sections = NoteSectionSerializer(source="content.sections", many=True, read_only=True)
    signed_by = serializers.UUIDField(source="signed_by_id", read_only=True, allow_null=True)

    class Meta:
        model = Note
        fields = [
            "id",
            "session_id",
            "note_type",
            "status",
            "version",
            "sections",
            "signed_at",
            "signed_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SectionTextSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(max_length=100)
    text = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=SECTION_MAX_CHARS, validators=[multi_line_text]
    )


class NotePatchSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(min_value=1, help_text="The version you read; a newer note refuses (409).")
    sections = SectionTextSerializer(many=True, allow_empty=False)

    def validate_sections(self, sections: list[dict[str, str]]) -> list[dict[str, str]]:
        note: Note = self.context["note"]
        known = {section["key"] for section in note.sections}
        keys = [section["key"] for section in sections]
        unknown = sorted(set(keys) - known)
        if unknown:
            raise serializers.ValidationError(f"The note has no section {', '.join(unknown)}.")
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("A section key appears twice.")
        return sections


class NoteSignSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(min_value=1, help_text="The version you reviewed; a newer note refuses (409).")


def _conflict(error: NoteConflict | NoteLocked) -> ApiError:
    current = error.current
    if isinstance(error, NoteLocked):
        message = "The note is signed and can no longer be changed."
    else:
        message = f"The note changed since that version; it is now at version {current.version}."
    return ApiError(
        status_code=409,
        code="conflict",
        message=message,
        details={"current_version": current.version, "status": current.status},
    )


# --- Views ---------------------------------------------------------------------------------------


class NoteScoped(ApiView):
    practice_lookup = "session__practice_id"

    def model_queryset(self) -> QuerySet[Any]:
        return Note.objects.select_related("session__clinician", "session__practice", "signed_by")


class NoteDetail(NoteScoped):
    @extend_schema(
        operation_id="notes_retrieve",
        summary="Read a note",
        responses={200: NoteSerializer, **error_responses(404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(NoteSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="notes_partial_update",
        summary="Edit a note",
        description="Saves the given sections' texts over `version`; other sections are left as they are.",
        request=NotePatchSerializer,
        responses={
            200: NoteSerializer,
            **error_responses(400, 404, 409, s409="conflict: the note is signed, or has moved past `version`"),
        },
    )
    def patch(self, request: Request, pk: str) -> Response:
        note: Note = self.get_object()
        serializer = NotePatchSerializer(data=request.data, context={"note": note})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        texts = {section["key"]: section["text"] for section in data["sections"]}
        try:
            saved = note_save(note=note, version=data["version"], texts=texts, author=acting_user(request))
        except (NoteConflict, NoteLocked) as refused:
            raise _conflict(refused) from None
        return Response(NoteSerializer(saved).data)


class NoteSign(NoteScoped):
    @extend_schema(
        operation_id="notes_sign",
        summary="Sign a note",
        description=(
            "Signs `version`; the note is read-only from then on. Through an API key the signature is recorded "
            "in the name of the session's clinician."
        ),
        request=NoteSignSerializer,
        responses={
            200: NoteSerializer,
            **error_responses(400, 404, 409, s409="conflict: already signed, or moved past `version`"),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        note: Note = self.get_object()
        serializer = NoteSignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signer: User = note.session.clinician if api_key_of(request) is not None else acting_user(request)
        try:
            signed = note_sign(note=note, version=serializer.validated_data["version"], signed_by=signer)
        except (NoteConflict, NoteLocked) as refused:
            raise _conflict(refused) from None
        return Response(NoteSerializer(signed).data)


class NoteExport(NoteScoped):
    content_negotiation_class = IgnoreAcceptNegotiation

    @extend_schema(
        operation_id="notes_export",
        summary="Download a note",
        description="The note as Word (.docx) or paste-safe plain text (.txt), as an attachment.",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=sorted(EXPORT_FORMATS), required=True),
        ],
        responses={
            (200, DOCX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="format=docx"),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="format=txt (UTF-8)"),
            **error_responses(400, 404),
        },
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        note: Note = self.get_object()
        export_format = request.query_params.get("format", "")
        if export_format not in EXPORT_FORMATS:
            raise serializers.ValidationError({"format": ["Use format=docx or format=txt."]})
        export = note_export(note, export_format)
        response = HttpResponse(export.content, content_type=export.content_type)
        set_download_headers(response, export.filename)
        return response
