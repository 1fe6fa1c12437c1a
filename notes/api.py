"""Integrator API for notes: read, edit over a version, sign, add an addendum, download (docs/api.md).

Through an API key, edits are recorded against the key's acting member; a signature, and an addendum, are
recorded in the name of the session's clinician together with the key that made them: the integration asserts
that the clinician approved the text. In the browser they are recorded in the name of the signed-in person.
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
from api.idempotency import idempotent_response, json_fingerprint
from api.schema import IDEMPOTENCY_PARAMETER, error_responses
from api.views import ApiView, IgnoreAcceptNegotiation
from config.downloads import set_download_headers
from config.validators import multi_line_text
from notes.content import Flag, FlagKind, Section, Statement
from notes.exports import DOCX_CONTENT_TYPE, EXPORT_FORMATS, note_export
from notes.forms import SECTION_MAX_CHARS
from notes.models import Addendum, Note
from notes.services import (
    ADDENDUM_MAX_CHARS,
    NoteConflict,
    NoteFlagsUnresolved,
    NoteLocked,
    NoteNotSigned,
    clean_addendum_text,
    note_add_addendum,
    note_save,
    note_sign,
)

# --- Resources -------------------------------------------------------------------------------------


class DismissalSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField()
    by = serializers.CharField(help_text="The id of the user who dismissed the flag.")
    by_name = serializers.CharField()
    at = serializers.CharField(help_text="When, ISO 8601 UTC.")


class NoteFlagSerializer(serializers.Serializer[Flag]):
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    message = serializers.CharField(help_text="What to check, in words a clinician understands.")
    evidence = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the transcript segments the flag points to."
    )
    said = serializers.CharField(
        allow_blank=True, help_text="The transcript's words behind the flag; empty when nothing was said."
    )
    dismissed = DismissalSerializer(
        source="dismissal",
        allow_null=True,
        help_text="Set when a clinician dismissed the flag (why, who, when); it then needs no review.",
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


class AddendumSerializer(serializers.ModelSerializer[Addendum]):
    author = serializers.UUIDField(
        source="author_id",
        read_only=True,
        allow_null=True,
        help_text="The user who signed it: the signed-in author, or, through an API key, the session's clinician.",
    )

    class Meta:
        model = Addendum
        fields = ["id", "text", "author", "created_at"]
        read_only_fields = fields


class NoteSerializer(serializers.ModelSerializer[Note]):
    session_id = serializers.UUIDField(read_only=True)
    sections = NoteSectionSerializer(source="content.sections", many=True, read_only=True)
    flags = NoteFlagSerializer(
        source="content.flags",
        many=True,
        read_only=True,
        help_text="Flags about the note as a whole: omitted_risk, a risk said in the visit that the note omits.",
    )
    signed_by = serializers.UUIDField(source="signed_by_id", read_only=True, allow_null=True)
    addenda = AddendumSerializer(
        many=True, read_only=True, help_text="Text added after signing, oldest first; the note itself is unchanged."
    )

    class Meta:
        model = Note
        fields = [
            "id",
            "session_id",
            "note_type",
            "status",
            "version",
            "sections",
            "flags",
            "addenda",
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
    acknowledge_flags = serializers.BooleanField(
        default=False,
        help_text=(
            "Required (true) when the note has flags still to review: the clinician acknowledges them by signing. "
            "Without it such a note refuses (409) and names them in details.flags."
        ),
    )


class AddendumCreateSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(
        trim_whitespace=False,
        max_length=ADDENDUM_MAX_CHARS * 2,
        help_text=f"Plain text, at most {ADDENDUM_MAX_CHARS:,} characters once trimmed; no control characters.",
    )

    def validate_text(self, text: str) -> str:
        try:
            return clean_addendum_text(text)
        except ValueError as refused:
            raise serializers.ValidationError(str(refused)) from None


def _flags_to_acknowledge(error: NoteFlagsUnresolved) -> ApiError:
    flags = [
        {
            "kind": flag.kind.value,
            "message": flag.message,
            "evidence": [i for i in flag.evidence if isinstance(i, int)],
            "said": flag.said,
            "section": place.section or None,
            "statement": place.statement,
        }
        for place, flag in error.flags
    ]
    return ApiError(
        status_code=409,
        code="conflict",
        message=(
            f"The note has {len(flags)} flag{'s' if len(flags) != 1 else ''} still to review; sign with "
            '"acknowledge_flags": true once the clinician has reviewed them.'
        ),
        details={"current_version": error.current.version, "status": error.current.status, "flags": flags},
    )


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
        return Note.objects.select_related("session__clinician", "session__practice", "signed_by").prefetch_related(
            "addenda"
        )


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
            "in the name of the session's clinician, with the key that made it; in the browser, in the name of the "
            "signed-in person (an owner or admin signing a colleague's note co-signs it as themselves). A note "
            "with flags still to review (not dismissed, other than `edited`) is signed only with "
            "`acknowledge_flags: true`, recorded in the note's history."
        ),
        request=NoteSignSerializer,
        responses={
            200: NoteSerializer,
            **error_responses(
                400,
                404,
                409,
                s409="conflict: already signed, moved past `version`, or flags to acknowledge (named in details.flags)",
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        note: Note = self.get_object()
        serializer = NoteSignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = api_key_of(request)
        signer: User = note.session.clinician if key is not None else acting_user(request)
        data = serializer.validated_data
        try:
            signed = note_sign(
                note=note,
                version=data["version"],
                signed_by=signer,
                api_key=key,
                acknowledge_flags=data["acknowledge_flags"],
            )
        except (NoteConflict, NoteLocked) as refused:
            raise _conflict(refused) from None
        except NoteFlagsUnresolved as flagged:
            raise _flags_to_acknowledge(flagged) from None
        return Response(NoteSerializer(signed).data)


class NoteAddenda(NoteScoped):
    @extend_schema(
        operation_id="notes_addenda_create",
        summary="Add an addendum to a signed note",
        description=(
            "Appends text to a signed note, signed by its author now; the note itself is unchanged. Through an "
            "API key the author is the session's clinician, recorded with the key. A note that is not signed yet "
            "is edited instead (409)."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=AddendumCreateSerializer,
        responses={
            201: AddendumSerializer,
            **error_responses(400, 404, 409, 422, s409="conflict: the note is not signed; edit it instead"),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        note: Note = self.get_object()
        return idempotent_response(
            request=request,
            practice=note.session.practice,
            fingerprint=json_fingerprint(request, request.data),
            create=lambda: self._create(request, note),
        )

    def _create(self, request: Request, note: Note) -> Response:
        serializer = AddendumCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = api_key_of(request)
        author: User = note.session.clinician if key is not None else acting_user(request)
        try:
            addendum = note_add_addendum(note=note, text=serializer.validated_data["text"], author=author, api_key=key)
        except NoteNotSigned as unsigned:
            raise ApiError(
                status_code=409,
                code="conflict",
                message="The note is not signed: edit it instead. Addenda are added to signed notes.",
                details={"current_version": unsigned.current.version, "status": unsigned.current.status},
            ) from None
        return Response(AddendumSerializer(addendum).data, status=201)


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
