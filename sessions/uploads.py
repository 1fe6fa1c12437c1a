"""Receiving a recording uploaded through a page: the body goes to a temporary file in chunks, never whole
into memory, stops being kept once it passes the size limit, and is decoded before it replaces anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import Http404, HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware

from accounts.tenancy import signed_in_user
from config.metrics import UPLOAD_SECONDS, timed
from sessions.media import MediaRejected
from sessions.models import ClinicalSession, max_upload_bytes
from sessions.services import recording_replace

# Multipart framing around the file; a declared length beyond limit + this is refused unread.
MULTIPART_OVERHEAD = 1024 * 1024
UPLOAD_STATUS = {
    "empty_file": 400,
    "not_audio": 415,
    "no_audio_track": 415,
    "unsupported_codec": 415,
    "no_audio": 400,
    "corrupt": 400,
    "truncated": 400,
    "too_long": 400,
    "too_large": 413,
    "no_file": 400,
    "bad_request": 400,
}


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Writes the upload to a temporary file and skips it once it exceeds ``max_bytes``.

    A skipped file is drained rather than stored, so the client still gets our answer (a reset
    connection would show the clinician a bare network error instead of the size message).
    """

    def __init__(self, request: HttpRequest, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.exceeded = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.received = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.exceeded = True
            self.file.close()
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)


@dataclass(frozen=True)
class UploadOutcome:
    """What became of an upload: stored, or refused with a code, a message for the clinician and an HTTP status."""

    stored: bool
    code: str = ""
    message: str = ""

    @property
    def status(self) -> int:
        return 201 if self.stored else UPLOAD_STATUS.get(self.code, 400)


def too_large_message(size: int | None, limit: int) -> str:
    limit_mb = limit // (1024 * 1024)
    if size:
        return f"The file is {size / (1024 * 1024):.0f} MB; the largest accepted is {limit_mb} MB."
    return f"The file is larger than the {limit_mb} MB limit."


def recording_upload_receive(request: HttpRequest, session: ClinicalSession) -> UploadOutcome | HttpResponseBase:
    """Stream, validate and store the request's ``file`` as the session's recording.

    The caller has checked that the user may see the session, before a byte of the body was read, and is
    csrf_exempt: the upload handler must be in place before anything (the CSRF check included) parses the body,
    so the check is made here, after it. A refused check returns Django's CSRF failure response, to be sent as is.
    """
    limit = max_upload_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + MULTIPART_OVERHEAD:
        return UploadOutcome(stored=False, code="too_large", message=too_large_message(declared, limit))
    handler = SizeLimitedUploadHandler(request, max_bytes=limit)
    request.upload_handlers = [handler]
    refused = CsrfViewMiddleware(_never_called).process_view(request, _never_called, (), {})
    if refused is not None:
        return refused
    try:
        with timed(UPLOAD_SECONDS, operation="receive"):
            files = request.FILES
    except (MultiPartParserError, RequestDataTooBig, BadRequest):
        return UploadOutcome(stored=False, code="bad_request", message="The upload could not be read. Try again.")
    if handler.exceeded:
        return UploadOutcome(stored=False, code="too_large", message=too_large_message(None, handler.max_bytes))
    uploaded = files.get("file")
    if uploaded is None:
        return UploadOutcome(stored=False, code="no_file", message="Choose a recording to upload.")
    try:
        recording_replace(
            session=session,
            upload_path=Path(uploaded.temporary_file_path()),  # type: ignore[attr-defined]
            original_filename=uploaded.name or "recording",
            uploaded_by=signed_in_user(request),
        )
    except MediaRejected as rejected:
        return UploadOutcome(stored=False, code=rejected.code, message=rejected.message)
    except ClinicalSession.DoesNotExist:
        raise Http404("The session was deleted during the upload.") from None
    finally:
        uploaded.close()
    return UploadOutcome(stored=True)


def _never_called(request: HttpRequest) -> HttpResponseBase:
    raise AssertionError("the CSRF check is used without a view behind it")
