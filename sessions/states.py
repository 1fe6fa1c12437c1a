"""What a session's state reads as on the pages: its processing status and where its note stands, in one word.

``ClinicalSession.status`` follows the pipeline (awaiting a recording, processing, failed, ready) and
``ClinicalSession.review_state`` the note (draft, needs review, signed, amended). A clinician wants one answer:
a signed note shows as signed whatever runs after it, a run in progress or failed shows as such, and otherwise
the note's state is what matters. The answer is a database expression, so the list filters and shows the very
same thing without loading anything more per row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from sessions.models import ClinicalSession, ClinicalSessionQuerySet


class SessionState(models.TextChoices):
    AWAITING_RECORDING = "awaiting_recording", "Awaiting recording"
    RECORDED = "recorded", "Recorded"
    PROCESSING = "processing", "Processing"
    FAILED = "failed", "Failed"
    DRAFT = "draft", "Draft"
    NEEDS_REVIEW = "needs_review", "Needs review"
    SIGNED = "signed", "Signed"
    AMENDED = "amended", "Amended"


def _state_expression() -> Case:
    status = ClinicalSession.Status
    review = ClinicalSession.ReviewState
    return Case(
        When(review_state=review.AMENDED, then=Value(SessionState.AMENDED.value)),
        When(review_state=review.SIGNED, then=Value(SessionState.SIGNED.value)),
        When(status=status.PROCESSING, then=Value(SessionState.PROCESSING.value)),
        When(status=status.FAILED, then=Value(SessionState.FAILED.value)),
        When(review_state=review.NEEDS_REVIEW, then=Value(SessionState.NEEDS_REVIEW.value)),
        When(Q(review_state=review.DRAFT) | Q(status=status.READY), then=Value(SessionState.DRAFT.value)),
        When(status=status.RECORDED, then=Value(SessionState.RECORDED.value)),
        default=Value(SessionState.AWAITING_RECORDING.value),
        output_field=models.CharField(),
    )


def _today_expression() -> Case:
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return Case(
        When(occurred_at__gte=start, occurred_at__lt=end, then=Value(True)),
        default=Value(False),
        output_field=models.BooleanField(),
    )


# Typed loosely: the annotations are not model fields, and the type checker would refuse filters on them.
def with_state(sessions: ClinicalSessionQuerySet) -> QuerySet[Any]:
    """The sessions, each with ``state`` (a SessionState value) and ``is_today``."""
    return sessions.annotate(state=_state_expression(), is_today=_today_expression())


def today_first(sessions: QuerySet[Any]) -> QuerySet[Any]:
    """Today's sessions first, then the rest; each group newest first. Needs ``with_state``."""
    return sessions.order_by("-is_today", "-occurred_at", "-created_at")


def session_state(session: ClinicalSession) -> SessionState:
    """The state of one session: the annotation when it was loaded ``with_state``, else read from the database."""
    value = getattr(session, "state", None)
    if value is None:
        value = with_state(ClinicalSession.objects.filter(pk=session.pk)).values_list("state", flat=True).first()
    return SessionState(value or SessionState.AWAITING_RECORDING)


def state_label(value: str) -> str:
    return SessionState(value).label if value in SessionState.values else value
