"""Writes with side effects for practices and their members."""

from __future__ import annotations

from django.db import transaction

from accounts.entitlements import practice_created
from accounts.models import Membership, Practice, User


@transaction.atomic
def practice_create(*, name: str, owner_email: str, owner_password: str | None = None) -> Practice:
    """Create a practice owned by the user with that email, creating the user if needed.

    Without a password a new user gets an unusable one and sets theirs through password reset.
    """
    practice = Practice.objects.create(name=name.strip(), slug=Practice.unique_slug_for(name))
    email = owner_email.strip().lower()
    owner = User.objects.filter(email=email).first()
    if owner is None:
        owner = User.objects.create_user(email=email, password=owner_password)
    elif owner_password:
        owner.set_password(owner_password)
        owner.save(update_fields=["password"])
    Membership.objects.create(user=owner, practice=practice, role=Membership.Role.OWNER)
    practice_created(practice)  # its trial starts now (billing)
    return practice
