"""Integrator API for recordings made part by part (docs/api.md, "Recording in parts").

``PUT /sessions/{id}/recording/parts/{n}`` takes the raw bytes of part ``n``; ``GET …/recording/parts`` lists
what is stored; ``POST …/recording/parts/complete`` assembles the parts into the session's recording;
``DELETE …/recording/parts`` discards them. The recording page uses the same endpoints with its login session
(and the CSRF token).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from pathlib import Path
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import acting_user
from api.errors import ApiError
from api.idempotency import idempotent_response, request_fingerprint
from api.schema import IDEMPOTENCY_PARAMETER, error_responses
from api.throttles import CallerRateThrottle, IpRateThrottle
from api.views import SafeJSONParser
from sessions.api import RecordingSerializer, SessionScoped
from sessions.media import MediaRejected
from sessions.models import ClinicalSession
from sessions.parts import (
    MAX_PART_NUMBER,
    PartsRefused,
    part_max_bytes,
    recording_part_store,
    recording_parts_complete,
    recording_parts_discard,
    recording_parts_state,
)
from sessions.uploads import UPLOAD_STATUS

READ_CHUNK = 64 * 1024
RECORDED_SECONDS_HEADER = "X-Recorded-Seconds"
# The longest a recording could be, for the recorded-seconds header: a day.
MAX_RECORDED_SECONDS = 24 * 3600
_REFUSALS = {
    "consent_required": (409, "consent_required"),
    "recording_completed": (409, "conflict"),
    "part_differs": (409, "conflict"),
    "parts_changed": (409, "conflict"),
    "recording_too_large": (413, "payload_too_large"),
    "no_parts": (400, "validation_error"),
    "missing_parts": (400, "validation_error"),
}
_MEDIA_CODES = {400: "validation_error", 413: "payload_too_large", 415: "unsupported_media"}


class PartSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField(min_value=0)
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    recorded_seconds = serializers.FloatField(
        allow_null=True, help_text="The recorder's clock at the end of the part, when the client sent it."
    )


class PartsSerializer(serializers.Serializer[Any]):
    parts = PartSerializer(many=True)
    completed = serializers.BooleanField(
        help_text="Whether the parts were assembled into the session's recording; further parts are refused."
    )


def _refused(refusal: PartsRefused) -> ApiError:
    status_code, code = _REFUSALS.get(refusal.reason, (409, "conflict"))
    return ApiError(
        status_code=status_code,
        code=code,
        message=refusal.message,
        details={"reason": refusal.reason, **refusal.details},
    )


def _rejected(rejected: MediaRejected) -> ApiError:
    status_code = UPLOAD_STATUS.get(rejected.code, 400)
    return ApiError(
        status_code=status_code,
        code=_MEDIA_CODES.get(status_code, "validation_error"),
        message=rejected.message,
        details={"reason": rejected.code},
    )


def _part_json(part: Any) -> dict[str, Any]:
    return {"n": part.n, "bytes": part.bytes, "sha256": part.sha256, "recorded_seconds": part.recorded_seconds}


N_PARAMETER = OpenApiParameter(
    "n",
    {"type": "integer", "minimum": 0, "maximum": MAX_PART_NUMBER},
    OpenApiParameter.PATH,
    description="The part's number, from 0, in recording order.",
)


class RecordingParts(SessionScoped):
    @extend_schema(
        operation_id="sessions_recording_parts_list",
        summary="List the parts received of the recording being made",
        responses={200: PartsSerializer, **error_responses(404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        state = recording_parts_state(self.get_object())
        return Response({"parts": [_part_json(part) for part in state.parts], "completed": state.completed})

    @extend_schema(
        operation_id="sessions_recording_parts_destroy",
        summary="Discard the recording being made",
        description=(
            "Deletes the parts received. After a completed recording, lets a new one start from part 0; the "
            "session's recording itself is kept."
        ),
        responses={204: None, **error_responses(404)},
    )
    def delete(self, request: Request, pk: str) -> Response:
        recording_parts_discard(session=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordingPartPut(SessionScoped):
    """The body is the part's raw bytes, read in chunks into a temporary file: never whole into memory, and
    never through a parser, so any Content-Type (``audio/webm``, ``application/octet-stream``) is taken."""

    throttle_classes = [CallerRateThrottle, IpRateThrottle]
    throttle_scope = "recording_parts"

    @extend_schema(
        operation_id="sessions_recording_parts_update",
        summary="Send part n of the recording being made",
        description=(
            "The raw bytes of part `n` (from 0) as MediaRecorder produced them; the first part holds the "
            "container's header. Idempotent: the same bytes again answer 200, other bytes for a stored `n` "
            "409. Needs the client's consent given. Optional header `X-Recorded-Seconds`: the recorder's clock "
            "at the end of the part, shown to the clinician."
        ),
        parameters=[
            N_PARAMETER,
            OpenApiParameter(
                RECORDED_SECONDS_HEADER,
                {"type": "number", "minimum": 0, "maximum": MAX_RECORDED_SECONDS},
                OpenApiParameter.HEADER,
                description="Seconds recorded up to the end of this part.",
            ),
        ],
        request={"application/octet-stream": {"type": "string", "format": "binary"}},
        responses={
            201: PartSerializer,
            200: PartSerializer,
            **error_responses(
                400,
                404,
                409,
                413,
                429,
                s400="validation_error: an empty part, or `n` not a whole number from 0",
                s409="conflict: other bytes already stored for this n (details.reason part_differs), or the "
                "recording is complete (recording_completed); consent_required: the client's consent is not given",
                s413="payload_too_large: the part is over RECORDING_PART_MAX_MB, or the recording over MAX_UPLOAD_MB",
            ),
        },
    )
    def put(self, request: Request, pk: str, n: str) -> Response:
        session: ClinicalSession = self.get_object()
        number = _part_number(n)
        seconds = _recorded_seconds(request)
        limit = part_max_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise _part_too_large(limit)
        with tempfile.TemporaryDirectory(prefix="sessionscribe-part-") as folder:
            path = Path(folder) / "part"
            size, digest = _receive(request, path, limit)
            if size == 0:
                raise ApiError(
                    status_code=400,
                    code="validation_error",
                    message="The part is empty: send its bytes as the request body.",
                    details={"reason": "empty_part"},
                )
            try:
                part, created = recording_part_store(
                    session=session,
                    n=number,
                    content=path,
                    sha256=digest,
                    recorded_seconds=seconds,
                    received_by=acting_user(request),
                )
            except PartsRefused as refused:
                raise _refused(refused) from None
            except ClinicalSession.DoesNotExist:
                raise exceptions.NotFound() from None
        return Response(_part_json(part), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _part_number(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_PART_NUMBER)):
        raise exceptions.ValidationError({"n": [f"The part number is a whole number from 0 to {MAX_PART_NUMBER}."]})
    number = int(raw)
    if number > MAX_PART_NUMBER:
        raise exceptions.ValidationError({"n": [f"The part number is a whole number from 0 to {MAX_PART_NUMBER}."]})
    return number


def _recorded_seconds(request: Request) -> float | None:
    raw = request.headers.get(RECORDED_SECONDS_HEADER)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MAX_RECORDED_SECONDS:
        raise exceptions.ValidationError(
            {RECORDED_SECONDS_HEADER: [f"Seconds recorded, a number from 0 to {MAX_RECORDED_SECONDS}."]}
        )
    return round(value, 3)


def _receive(request: Request, path: Path, limit: int) -> tuple[int, str]:
    """Stream the body into ``path``; returns its size and sha256. Past ``limit`` bytes: 413."""
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as sink:
        while chunk := request._request.read(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _part_too_large(limit)
            digest.update(chunk)
            sink.write(chunk)
    return size, digest.hexdigest()


def _part_too_large(limit: int) -> ApiError:
    return ApiError(
        status_code=413,
        code="payload_too_large",
        message=f"A part may hold at most {limit // (1024 * 1024)} MB: send shorter parts.",
        details={"reason": "part_too_large", "max_bytes": limit},
    )


class RecordingPartsComplete(SessionScoped):
    throttle_classes = [CallerRateThrottle, IpRateThrottle]
    throttle_scope = "uploads"
    # The body is ignored; a browser's form-encoded empty body is read (by the CSRF check) rather than refused.
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="sessions_recording_parts_complete",
        summary="Assemble the parts into the session's recording",
        description=(
            "Joins the parts received, in order, validates the audio by decoding it up to its last decodable "
            "packet (a recording cut off mid-cluster is valid up to there) and makes it the session's recording, "
            "as an upload would; the parts are then deleted. Repeated after success: 200 with that recording. "
            "Does not start processing: `POST /sessions/{id}/jobs` does. A refusal keeps the parts and the "
            "session's previous recording."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=None,
        responses={
            201: RecordingSerializer,
            200: RecordingSerializer,
            **error_responses(
                400,
                404,
                409,
                413,
                415,
                422,
                429,
                s400="validation_error: no parts (details.reason no_parts), a gap in the part numbers "
                "(missing_parts, details.missing), or audio that is damaged or too long (details.reason)",
                s409="conflict: a part arrived while assembling (parts_changed); assemble again",
                s415="unsupported_media: the first part is not audio, or its codec cannot be decoded",
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        session: ClinicalSession = self.get_object()
        return idempotent_response(
            request=request,
            practice=session.practice,
            fingerprint=request_fingerprint(request),
            create=lambda: self._complete(session),
        )

    def _complete(self, session: ClinicalSession) -> Response:
        try:
            recording, created = recording_parts_complete(session=session, completed_by=acting_user(self.request))
        except PartsRefused as refused:
            raise _refused(refused) from None
        except MediaRejected as rejected:
            raise _rejected(rejected) from None
        except ClinicalSession.DoesNotExist:
            raise exceptions.NotFound() from None
        return Response(
            RecordingSerializer(recording).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
