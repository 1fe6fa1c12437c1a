"""Streaming upload handling: the body goes to a temporary file in chunks, never whole into memory,
and stops being kept once it passes the size limit."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import HttpRequest


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
