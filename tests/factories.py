from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from accounts.models import Membership, Practice, User
from notes.models import Note
from sessions.models import ClinicalSession

TEST_PASSWORD = "correct-horse-battery-staple"


class PracticeFactory(factory.django.DjangoModelFactory[Practice]):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    practice = factory.SubFactory(PracticeFactory)
    role = Membership.Role.CLINICIAN


class ClinicalSessionFactory(factory.django.DjangoModelFactory[ClinicalSession]):
    class Meta:
        model = ClinicalSession

    practice = factory.SubFactory(PracticeFactory)
    clinician = factory.SubFactory(UserFactory)
    client_label = factory.Sequence(lambda n: f"Client {n:03d}")
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    note_type = "soap"


class NoteFactory(factory.django.DjangoModelFactory[Note]):
    class Meta:
        model = Note

    session = factory.SubFactory(ClinicalSessionFactory)
    note_type = "soap"
    template_name = "SOAP"
    sections = factory.LazyFunction(
        lambda: [
            {"key": key, "heading": key.title(), "text": "", "evidence": [], "flags": []}
            for key in ("subjective", "objective", "assessment", "plan")
        ]
    )
