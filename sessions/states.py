"""What a session's state reads as on the pages: its processing status and where its note stands, in one word.

``ClinicalSession.status`` follows the pipeline (awaiting a recording, processing, failed, ready) and
``ClinicalSession.review_state`` the note (draft, needs review, signed, amended). A clinician wants one answer:
a signed note shows as signed whatever runs after it, a run in progress or failed shows as such, and otherwise
the note's state is what matters. The answer is a database expression, so the list filters and shows the very
same thing without loading anything more per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, overload

from django.db import models
from django.db.models import Case, Count, Q, QuerySet, Value, When
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


def _today_bounds() -> tuple[dt.datetime, dt.datetime]:
    """Where today begins and ends, in the current time zone."""
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return start, end


def _today_expression() -> Case:
    start, end = _today_bounds()
    return Case(
        When(occurred_at__gte=start, occurred_at__lt=end, then=Value(True)),
        default=Value(False),
        output_field=models.BooleanField(),
    )


# Typed loosely: the annotations are not model fields, and the type checker would refuse filters on them.
def with_state(sessions: ClinicalSessionQuerySet) -> QuerySet[Any]:
    """The sessions, each with ``state`` (a SessionState value) and ``is_today``."""
    return sessions.annotate(state=_state_expression(), is_today=_today_expression())


class TodayFirst:
    """The sessions as the list shows them, for Django's Paginator: today's first, then the rest, each group
    newest first (so later days, then earlier ones).

    Ordering by "is it today" would make the database read and sort every session the user may see before it
    could return a page. The same order is three ranges of ``occurred_at`` one after the other (today, after
    today, before today), each of which an index on (practice, occurred_at) reads in order: two queries count them,
    and a page reads only the ranges it covers, ``LIMIT``/``OFFSET`` within each.
    """

    ORDER = ("-occurred_at", "-created_at")

    def __init__(self, sessions: QuerySet[Any]) -> None:
        self._start, self._end = start, end = _today_bounds()
        self._sessions = sessions.order_by()
        self._ranges = (
            Q(occurred_at__gte=start, occurred_at__lt=end),
            Q(occurred_at__gte=end),
            Q(occurred_at__lt=start),
        )
        self._sizes: list[int] | None = None

    def sizes(self) -> list[int]:
        """How many sessions each range holds: today, after today, before today. The total is a plain count (an
        index-only scan on PostgreSQL); today and later are counted over the range from today on, which the index
        finds at once; before today is the rest."""
        if self._sizes is None:
            total = self._sessions.count()
            recent = self._sessions.filter(occurred_at__gte=self._start).aggregate(
                today=Count("pk", filter=Q(occurred_at__lt=self._end)),
                later=Count("pk", filter=Q(occurred_at__gte=self._end)),
            )
            today, later = int(recent["today"] or 0), int(recent["later"] or 0)
            self._sizes = [today, later, total - today - later]
        return self._sizes

    def count(self) -> int:
        return sum(self.sizes())

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            if index < 0:
                index += self.count()
            one = self[index : index + 1]
            if not one:
                raise IndexError(index)
            return one[0]
        if index.step not in (None, 1):
            raise TypeError("TodayFirst is read in slices without a step")
        first = max(index.start or 0, 0)
        stop = self.count() if index.stop is None else index.stop
        rows: list[Any] = []
        offset = 0
        for condition, size in zip(self._ranges, self.sizes(), strict=True):
            low, high = max(first - offset, 0), min(stop - offset, size)
            if low < high:
                rows.extend(self._sessions.filter(condition).order_by(*self.ORDER)[low:high])
            offset += size
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])


def session_state(session: ClinicalSession) -> SessionState:
    """The state of one session: the annotation when it was loaded ``with_state``, else read from the database."""
    value = getattr(session, "state", None)
    if value is None:
        value = with_state(ClinicalSession.objects.filter(pk=session.pk)).values_list("state", flat=True).first()
    return SessionState(value or SessionState.AWAITING_RECORDING)


def state_label(value: str) -> str:
    return SessionState(value).label if value in SessionState.values else value
