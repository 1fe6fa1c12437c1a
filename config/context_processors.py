from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.models import Membership
from accounts.tenancy import current_membership


def site(request: HttpRequest) -> dict[str, Any]:
    membership = current_membership(request.user) if getattr(request, "user", None) is not None else None
    return {
        "ai_mode": settings.AI_MODE,
        "max_upload_mb": settings.MAX_UPLOAD_MB,
        # Owners and admins manage the practice's API keys and webhooks.
        "manages_practice": membership is not None and membership.sees_whole_practice,
        # Owners write the practice's consent script.
        "owns_practice": membership is not None and membership.role == Membership.Role.OWNER,
        "in_practice": membership is not None,
    }
