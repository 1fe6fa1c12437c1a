"""The session's recording, played on the session page while its audio is kept.

Browsers play media by asking for byte ranges (``Range: bytes=…``), so the view answers 206 Partial Content with
the part asked for, streamed from the file a block at a time (a two-hour recording is never read whole), and 416
for a range the file does not have. With S3 storage the browser is sent to a presigned URL that expires within a
minute instead; the bucket answers the ranges itself. Either way the URL names only ids, the recording is loaded
through ``visible_to`` (another practice's is a 404), and nothing may keep a copy (``Cache-Control: no-store``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from sessions.models import Recording

# Long enough for the browser to follow the redirect and start playing; a seek asks this view again.
SIGNED_URL_SECONDS = 60
BLOCK_BYTES = 64 * 1024
_DIGITS = re.compile(r"[0-9]+")


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the file does not have, or is not a byte range at all."""


@dataclass(frozen=True)
class ByteRange:
    first: int
    last: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def parse_range(header: str, size: int) -> ByteRange | None:
    """The byte range ``header`` asks for in a file of ``size`` bytes; None for the whole file.

    The whole file is also the answer to a header in another unit or asking for several ranges (RFC 9110 lets a
    server ignore those; media players never send them). Raises RangeNotSatisfiable for a malformed byte range or
    one that starts past the end.
    """
    if not header.strip():
        return None
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    first_text, dash, last_text = (part.strip() for part in spec.strip().partition("-"))
    if (
        not dash
        or (first_text and not _DIGITS.fullmatch(first_text))
        or (last_text and not _DIGITS.fullmatch(last_text))
    ):
        raise RangeNotSatisfiable(header)
    if not first_text:
        # "bytes=-500": the last 500 bytes.
        if not last_text or int(last_text) == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(first=max(size - int(last_text), 0), last=size - 1)
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size or last < first:
        raise RangeNotSatisfiable(header)
    return ByteRange(first=first, last=min(last, size - 1))


class _BoundedReader:
    """Reads at most ``length`` bytes of an open file from its current position, then nothing."""

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self._handle = handle
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(wanted)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _gone() -> HttpResponseBase:
    return _private(
        HttpResponse(
            "The audio of this session is no longer kept (the practice's retention policy removed it). "
            "The transcript and the note are not affected.\n",
            content_type="text/plain; charset=utf-8",
            status=410,
        )
    )


def _signed_redirect(recording: Recording) -> HttpResponseBase:
    storage: Any = recording.file.storage
    url = storage.url(
        recording.file.name,
        parameters={"ResponseContentType": recording.content_type, "ResponseCacheControl": "no-store"},
        expire=SIGNED_URL_SECONDS,
    )
    return _private(HttpResponseRedirect(url))


@require_http_methods(["GET", "HEAD"])
def recording_audio(request: HttpRequest, pk: Any, recording_id: Any) -> HttpResponseBase:
    recordings = Recording.objects.visible_to(request.user)
    recording = get_object_or_404(recordings, pk=recording_id, session_id=pk)
    if recording.purged_at is not None or not recording.file.name:
        return _gone()
    try:
        path = recording.file.path
    except NotImplementedError:
        # Remote storage (S3) has no local path: the bucket serves the bytes and their ranges.
        return _signed_redirect(recording)
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 — closed by the response once streamed
    except FileNotFoundError:
        return _gone()
    size = os.fstat(handle.fileno()).st_size
    try:
        wanted = parse_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        handle.close()
        refusal = HttpResponse(status=416)
        refusal["Content-Range"] = f"bytes */{size}"
        refusal["Accept-Ranges"] = "bytes"
        return _private(refusal)
    if wanted is None:
        response = FileResponse(_BoundedReader(handle, size), content_type=recording.content_type)
        response["Content-Length"] = str(size)
    else:
        handle.seek(wanted.first)
        response = FileResponse(_BoundedReader(handle, wanted.length), content_type=recording.content_type, status=206)
        response["Content-Length"] = str(wanted.length)
        response["Content-Range"] = f"bytes {wanted.first}-{wanted.last}/{size}"
    response.block_size = BLOCK_BYTES
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = "inline"
    return _private(response)
