"""The one place that says which practice rows a user may touch.

Every model that belongs to a practice builds its ``visible_to(user)`` queryset on these helpers;
views load objects only through those querysets, so another practice's object is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import Membership, Practice, User


def memberships_of(user: User | AnonymousUser) -> QuerySet[Membership]:
    if not user.is_authenticated or not user.is_active:
        return Membership.objects.none()
    return Membership.objects.filter(user=user)


def practice_ids_visible_to(user: User | AnonymousUser) -> QuerySet[Membership, Any]:
    """A subquery of the practice ids the user belongs to."""
    return memberships_of(user).values("practice_id")


def practice_ids_seen_whole_by(user: User | AnonymousUser) -> QuerySet[Membership, Any]:
    """Practices where the user is owner or admin and so sees every clinician's work."""
    roles = [Membership.Role.OWNER, Membership.Role.ADMIN]
    return memberships_of(user).filter(role__in=roles).values("practice_id")


def current_membership(user: User | AnonymousUser) -> Membership | None:
    """The membership the pages work in: the user's first practice."""
    return memberships_of(user).select_related("practice").order_by("created_at").first()


def current_practice(user: User | AnonymousUser) -> Practice | None:
    membership = current_membership(user)
    return membership.practice if membership else None
