from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import sessions_clear_expired

pytestmark = pytest.mark.django_db


def test_the_schedule_deletes_expired_logins_and_keeps_live_ones():
    live = SessionStore()
    live["mfa.totp.secret"] = "kept while the login lives"
    live.create()
    expired = SessionStore()
    expired["mfa.totp.secret"] = "abandoned setup"
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    sessions_clear_expired()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
