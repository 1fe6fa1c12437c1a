"""The headers every download of clinical content carries, in pages and API alike."""

from __future__ import annotations

from django.http import HttpResponseBase


def set_download_headers(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    # Clinical content: no browser or proxy may keep a copy, and an opened file runs nothing.
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "sandbox"
    return response
