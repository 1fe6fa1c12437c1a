"""The one place that says which practice rows a user may touch.

Every model that belongs to a practice builds its ``visible_to(user)`` queryset on these helpers;
views load objects only through those querysets, so another practice's object is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Membership, User


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


def practice_reach(user: User | AnonymousUser) -> tuple[list[Any], list[Any]]:
    """The user's practices, read now: those seen whole (owner or admin) and those where the user sees only their
    own work. Lists of ids, not a subquery: a query that names the one practice outright can walk an index on
    (practice, date) in order and stop after a page, where ``practice_id IN (subquery)`` makes the database read and
    sort every row the user may see."""
    whole: list[Any] = []
    own: list[Any] = []
    roles = (Membership.Role.OWNER, Membership.Role.ADMIN)
    for practice_id, role in memberships_of(user).order_by("practice_id").values_list("practice_id", "role"):
        (whole if role in roles else own).append(practice_id)
    return whole, own


def current_membership(user: User | AnonymousUser) -> Membership | None:
    """The membership the pages work in: the user's first practice."""
    return memberships_of(user).select_related("practice").order_by("created_at").first()


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for views behind the login requirement (LoginRequiredMiddleware keeps the
    anonymous out; this narrows the type and refuses a misconfigured route rather than act as nobody)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
