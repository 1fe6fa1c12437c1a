"""Integrator API for sessions, their recording and their transcript (docs/api.md).

The session resource names the session's latest job; jobs are not this app's to import, so the URLconf
hands the session views the annotation that finds it (``annotations``, from ``jobs.api``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Membership, Practice, User
from api.authentication import acting_user, api_key_of
from api.errors import ApiError
from api.idempotency import idempotent_response, json_fingerprint, request_fingerprint
from api.schema import IDEMPOTENCY_PARAMETER, error_responses
from api.throttles import CallerRateThrottle, IpRateThrottle
from api.views import ApiView, paginate
from config.validators import single_line_text
from formats.catalogue import note_type_choices
from sessions.consent import ConsentInvalid, session_record_consent
from sessions.media import MediaRejected
from sessions.models import ClinicalSession, ConsentScript, Recording, Transcript, max_upload_bytes
from sessions.services import file_sha256, recording_replace, session_create, session_delete, session_update
from sessions.states import SessionState, session_state, with_state
from sessions.uploads import MULTIPART_OVERHEAD, UPLOAD_STATUS, SizeLimitedUploadHandler

_ENVELOPE_CODES = {400: "validation_error", 413: "payload_too_large", 415: "unsupported_media"}


# --- Resources -------------------------------------------------------------------------------------


class RecordingSerializer(serializers.ModelSerializer[Recording]):
    filename = serializers.CharField(source="original_filename", help_text="The uploaded file's name, sanitised.")
    duration_seconds = serializers.FloatField(help_text="Decoded audio duration (a video's audio track).")

    class Meta:
        model = Recording
        fields = ["id", "filename", "content_type", "bytes", "sha256", "duration_seconds", "codec", "created_at"]
        read_only_fields = fields


class ConsentSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=ClinicalSession.ConsentStatus.choices)
    method = serializers.ChoiceField(choices=ClinicalSession.ConsentMethod.choices, allow_null=True)
    script_version = serializers.IntegerField(
        allow_null=True, help_text="The version of the practice's consent script the client was shown."
    )
    recorded_by = serializers.UUIDField(allow_null=True, help_text="The user who recorded the consent.")
    recorded_at = serializers.DateTimeField(allow_null=True)


def consent_of(session: ClinicalSession) -> dict[str, Any]:
    return {
        "status": session.consent_status,
        "method": session.consent_method or None,
        "script_version": session.consent_script.version if session.consent_script else None,
        "recorded_by": session.consent_recorded_by_id,
        "recorded_at": session.consent_recorded_at,
    }


class ConsentInputSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=ClinicalSession.ConsentStatus.choices)
    method = serializers.ChoiceField(
        choices=ClinicalSession.ConsentMethod.choices,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Required when the status is given; how a refusal was expressed when declined; empty otherwise.",
    )
    script_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version of the consent script the client was shown; by default the practice's current one.",
    )


# The API's name for each state a session shows (sessions.states): the pages' "Draft" is "ready" here, the word
# integrators have always read for a note that is ready to review.
API_STATUS = {state.value: ("ready" if state == SessionState.DRAFT else state.value) for state in SessionState}
API_STATUS_CHOICES = [(API_STATUS[value], label) for value, label in SessionState.choices]
STATE_OF_API_STATUS = {api: state for state, api in API_STATUS.items()}


class SessionSerializer(serializers.ModelSerializer[ClinicalSession]):
    status = serializers.SerializerMethodField(
        help_text="Where the session stands: its processing, then its note (a signed note shows as signed)."
    )
    consent = serializers.SerializerMethodField()
    recording = RecordingSerializer(read_only=True, allow_null=True)
    latest_job_id = serializers.SerializerMethodField()
    clinician_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = ClinicalSession
        fields = [
            "id",
            "client_label",
            "occurred_at",
            "note_type",
            "status",
            "consent",
            "recording",
            "latest_job_id",
            "clinician_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=API_STATUS_CHOICES))
    def get_status(self, session: ClinicalSession) -> str:
        return API_STATUS[session_state(session).value]

    @extend_schema_field(ConsentSerializer)
    def get_consent(self, session: ClinicalSession) -> dict[str, Any]:
        return consent_of(session)

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_latest_job_id(self, session: ClinicalSession) -> str | None:
        latest = getattr(session, "latest_job_id", None)
        return str(latest) if latest else None


class SessionInputSerializer(serializers.Serializer[Any]):
    client_label = serializers.CharField(
        max_length=80,
        help_text="A pseudonymous label for the client, such as initials or a chart number.",
        validators=[single_line_text],
    )
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; at most a day in the future.")
    note_type = serializers.CharField(
        max_length=64, help_text="soap, dap, birp, girp, pirp, medical, or a custom template key of the practice."
    )
    consent_method = serializers.ChoiceField(
        choices=[("", "Not recorded"), *ClinicalSession.ConsentMethod.choices],
        required=False,
        help_text="How the client consented to the recording (consent then is given); empty for not recorded. "
        "POST /sessions/{id}/consent records a refusal, or the script version shown.",
    )

    def validate_occurred_at(self, value: dt.datetime) -> dt.datetime:
        if value > timezone.now() + dt.timedelta(days=1):
            raise serializers.ValidationError("The session date is in the future.")
        return value

    def validate_note_type(self, value: str) -> str:
        practice: Practice = self.context["practice"]
        # A session already in a retired format keeps it; new choices are the formats offered.
        keys = [key for key, _ in note_type_choices(practice, keep=self.context.get("current_note_type"))]
        if value not in keys:
            raise serializers.ValidationError(f"Unknown note type; use one of: {', '.join(keys)}.")
        return value


class SessionCreateSerializer(SessionInputSerializer):
    clinician_id = serializers.UUIDField(
        required=False, help_text="The member of the practice who ran the session; by default the caller."
    )


class SessionFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=API_STATUS_CHOICES, required=False)
    note_type = serializers.CharField(required=False, max_length=64)
    occurred_after = serializers.DateTimeField(required=False, help_text="Sessions on or after this moment.")
    occurred_before = serializers.DateTimeField(required=False, help_text="Sessions before this moment.")


class SegmentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    start = serializers.FloatField(help_text="Seconds from the start of the recording.")
    end = serializers.FloatField()
    speaker = serializers.CharField(allow_null=True, default=None)
    text = serializers.CharField(allow_blank=True)


class TranscriptSerializer(serializers.ModelSerializer[Transcript]):
    segments = SegmentSerializer(many=True)

    class Meta:
        model = Transcript
        fields = ["id", "language", "model", "text", "segments"]
        read_only_fields = fields


# --- Views ---------------------------------------------------------------------------------------


class SessionScoped(ApiView):
    annotations: ClassVar[dict[str, Any]] = {}

    def model_queryset(self) -> QuerySet[Any]:
        sessions = ClinicalSession.objects.select_related("recording", "consent_script")
        annotated: QuerySet[Any] = with_state(sessions).annotate(**self.annotations)
        return annotated


def _fields_error(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


class SessionListCreate(SessionScoped):
    @extend_schema(
        operation_id="sessions_list",
        summary="List sessions",
        description="Newest first; `next` and `previous` are links to the neighbouring pages.",
        parameters=[SessionFilterSerializer],
        responses={200: SessionSerializer(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        filters = SessionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        sessions = self.get_queryset()
        if "status" in wanted:
            sessions = sessions.filter(state=STATE_OF_API_STATUS[wanted["status"]])
        if "note_type" in wanted:
            sessions = sessions.filter(note_type=wanted["note_type"])
        if "occurred_after" in wanted:
            sessions = sessions.filter(occurred_at__gte=wanted["occurred_after"])
        if "occurred_before" in wanted:
            sessions = sessions.filter(occurred_at__lt=wanted["occurred_before"])
        return paginate(self, sessions, SessionSerializer)

    @extend_schema(
        operation_id="sessions_create",
        summary="Create a session",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=SessionCreateSerializer,
        responses={201: SessionSerializer, **error_responses(400, 403, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        practice = self.caller_practice()
        fingerprint = json_fingerprint(request, request.data)
        return idempotent_response(
            request=request, practice=practice, fingerprint=fingerprint, create=lambda: self._create(practice)
        )

    def _create(self, practice: Practice) -> Response:
        serializer = SessionCreateSerializer(data=self.request.data, context={"practice": practice})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        clinician = self._clinician(practice, data.pop("clinician_id", None))
        session = session_create(
            practice=practice,
            clinician=clinician,
            created_by=acting_user(self.request),
            client_label=data["client_label"],
            occurred_at=data["occurred_at"],
            note_type=data["note_type"],
            consent_method=data.get("consent_method", ""),
        )
        created = self.model_queryset().get(pk=session.pk)
        return Response(SessionSerializer(created).data, status=status.HTTP_201_CREATED)

    def _clinician(self, practice: Practice, clinician_id: Any) -> User:
        caller = acting_user(self.request)
        if clinician_id is None or clinician_id == caller.pk:
            return caller
        member = Membership.objects.filter(practice=practice, user_id=clinician_id, user__is_active=True).first()
        if member is None:
            raise _fields_error("clinician_id", "No active member of the practice has this id.")
        if api_key_of(self.request) is None:
            own = Membership.objects.filter(practice=practice, user=caller).first()
            if own is None or not own.sees_whole_practice:
                raise _fields_error("clinician_id", "Only owners and admins create sessions for other clinicians.")
        return member.user


class SessionDetail(SessionScoped):
    @extend_schema(
        operation_id="sessions_retrieve",
        summary="Read a session",
        responses={200: SessionSerializer, **error_responses(404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(SessionSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="sessions_partial_update",
        summary="Change a session",
        description="Send only the fields to change.",
        request=SessionInputSerializer(partial=True),
        responses={200: SessionSerializer, **error_responses(400, 404)},
    )
    def patch(self, request: Request, pk: str) -> Response:
        session: ClinicalSession = self.get_object()
        serializer = SessionInputSerializer(
            data=request.data,
            partial=True,
            context={"practice": session.practice, "current_note_type": session.note_type},
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session_update(
            session=session,
            client_label=data.get("client_label", session.client_label),
            occurred_at=data.get("occurred_at", session.occurred_at),
            note_type=data.get("note_type", session.note_type),
            consent_method=data.get("consent_method", session.consent_method),
            changed_by=acting_user(request),
        )
        return Response(SessionSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="sessions_destroy",
        summary="Delete a session",
        description="Deletes the session with its recording, transcript, notes, jobs and their files.",
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: Request, pk: str) -> Response:
        session_delete(session=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionConsent(SessionScoped):
    @extend_schema(
        operation_id="sessions_consent_create",
        summary="Record the client's consent to recording",
        description=(
            "`status` is `given` (with a `method`), `declined` or `not_recorded` (which clears it). The session "
            "keeps the version of the practice's consent script shown, who recorded the answer and when. "
            "Recording in the browser needs consent given; a practice may require it before any processing."
        ),
        request=ConsentInputSerializer,
        responses={200: SessionSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, pk: str) -> Response:
        session: ClinicalSession = self.get_object()
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        script = None
        if data.get("script_version") is not None:
            script = ConsentScript.objects.filter(practice=session.practice, version=data["script_version"]).first()
            if script is None:
                raise _fields_error("script_version", "Your practice has no consent script of this version.")
        try:
            session_record_consent(
                session=session,
                status=data["status"],
                method=data.get("method") or "",
                script=script,
                recorded_by=acting_user(request),
            )
        except ConsentInvalid as invalid:
            raise _fields_error(invalid.field, invalid.message) from None
        return Response(SessionSerializer(self.get_object()).data)


class RecordingUpload(SessionScoped):
    """The upload streams to a temporary file (never whole in memory) and is refused past MAX_UPLOAD_MB,
    as on the session page."""

    parser_classes = [MultiPartParser]
    throttle_classes = [CallerRateThrottle, IpRateThrottle]
    throttle_scope = "uploads"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before anything reads the body (a browser session's CSRF check does, during authentication).
        self.upload_handler = SizeLimitedUploadHandler(request._request, max_bytes=max_upload_bytes())
        request._request.upload_handlers = [self.upload_handler]
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="sessions_recording_create",
        summary="Upload the session's recording",
        description=(
            "Multipart form with the audio (or video) in `file`. Validated by decoding; replaces the session's "
            "recording only once valid. Does not start processing: `POST /sessions/{id}/jobs` does."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses={
            201: RecordingSerializer,
            **error_responses(
                400,
                404,
                413,
                415,
                422,
                429,
                s400="validation_error: no file, or audio that is empty, truncated, silent-codec or too long "
                "(details.reason)",
                s415="unsupported_media: not audio, no audio track, or a codec that cannot be decoded",
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        session: ClinicalSession = self.get_object()
        limit = max_upload_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + MULTIPART_OVERHEAD:
            raise _too_large(limit)
        uploaded = self._uploaded_file(request, limit)
        try:
            path = Path(uploaded.temporary_file_path())  # type: ignore[attr-defined]
            sha256 = file_sha256(path)
            fingerprint = request_fingerprint(request, sha256, uploaded.name or "")
            return idempotent_response(
                request=request,
                practice=session.practice,
                fingerprint=fingerprint,
                create=lambda: self._store(session, path, uploaded.name or "recording", sha256),
            )
        finally:
            uploaded.close()

    def _uploaded_file(self, request: Request, limit: int) -> UploadedFile:
        try:
            files = request.FILES
        except exceptions.ParseError:
            raise ApiError(status_code=400, code="validation_error", message="The upload could not be read.") from None
        if self.upload_handler.exceeded:
            raise _too_large(limit)
        uploaded = files.get("file")
        if not isinstance(uploaded, UploadedFile):
            raise _fields_error("file", "Send the recording as the multipart field 'file'.")
        return uploaded

    def _store(self, session: ClinicalSession, path: Path, filename: str, sha256: str) -> Response:
        try:
            recording = recording_replace(
                session=session,
                upload_path=path,
                original_filename=filename,
                uploaded_by=acting_user(self.request),
                sha256=sha256,
            )
        except MediaRejected as rejected:
            status_code = UPLOAD_STATUS.get(rejected.code, 400)
            raise ApiError(
                status_code=status_code,
                code=_ENVELOPE_CODES.get(status_code, "validation_error"),
                message=rejected.message,
                details={"reason": rejected.code},
            ) from None
        return Response(RecordingSerializer(recording).data, status=status.HTTP_201_CREATED)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        status_code=413,
        code="payload_too_large",
        message=f"The file is larger than the {limit // (1024 * 1024)} MB limit.",
        details={"reason": "too_large", "max_bytes": limit},
    )


class TranscriptDetail(ApiView):
    practice_lookup = "session__practice_id"
    lookup_field = "session_id"

    def model_queryset(self) -> QuerySet[Any]:
        return Transcript.objects.all()

    @extend_schema(
        operation_id="sessions_transcript_retrieve",
        summary="Read the session's transcript",
        responses={
            200: TranscriptSerializer,
            **error_responses(404, s404="not_found: no such session, or no transcript yet"),
        },
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(TranscriptSerializer(self.get_object()).data)
