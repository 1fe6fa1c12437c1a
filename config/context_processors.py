from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "ai_mode": settings.AI_MODE,
        "max_upload_mb": settings.MAX_UPLOAD_MB,
    }
