"""The session lists stay a page of work however many sessions there are (bench/pages.py measures it).

Who sees which session is tested here in the cases the per-practice ids make new (several practices, none, an
inactive user); the list pages and the API list take the same number of queries for a few sessions or many,
in every practice and for every role; and on SQLite the plans read the index in order instead of sorting.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from sessions.models import ClinicalSession
from sessions.states import TodayFirst, with_state
from sessions.views import PAGE_SIZE
from tests.factories import ClinicalSessionFactory, MembershipFactory, PracticeFactory, UserFactory

pytestmark = pytest.mark.django_db


def _sessions(practice, clinician, count, **kwargs):
    return [ClinicalSessionFactory(practice=practice, clinician=clinician, **kwargs) for _ in range(count)]


# --- who sees what -----------------------------------------------------------------------------


def test_an_owner_of_one_practice_and_clinician_in_another_sees_the_first_whole_and_their_own_in_the_second(
    alice, bob, practice, other_practice, charlie
):
    MembershipFactory(user=alice, practice=other_practice, role=Membership.Role.CLINICIAN)
    bobs = ClinicalSessionFactory(practice=practice, clinician=bob)
    alices_in_cedar = ClinicalSessionFactory(practice=other_practice, clinician=alice)
    ClinicalSessionFactory(practice=other_practice, clinician=charlie)

    assert set(ClinicalSession.objects.visible_to(alice)) == {bobs, alices_in_cedar}


def test_an_admin_of_two_practices_sees_both_whole(alice, bob, practice, other_practice, charlie):
    MembershipFactory(user=alice, practice=other_practice, role=Membership.Role.ADMIN)
    sessions = {ClinicalSessionFactory(practice=practice, clinician=bob)}
    sessions.add(ClinicalSessionFactory(practice=other_practice, clinician=charlie))
    ClinicalSessionFactory(practice=PracticeFactory(), clinician=charlie)

    assert set(ClinicalSession.objects.visible_to(alice)) == sessions


def test_a_clinician_of_two_practices_sees_only_their_own_in_each(bob, practice, other_practice, charlie):
    MembershipFactory(user=bob, practice=other_practice, role=Membership.Role.CLINICIAN)
    own = {ClinicalSessionFactory(practice=practice, clinician=bob)}
    own.add(ClinicalSessionFactory(practice=other_practice, clinician=bob))
    ClinicalSessionFactory(practice=other_practice, clinician=charlie)
    # Their own session in a practice they have left is not theirs to see any more.
    ClinicalSessionFactory(practice=PracticeFactory(), clinician=bob)

    assert set(ClinicalSession.objects.visible_to(bob)) == own


def test_no_membership_or_an_inactive_account_sees_nothing(alice, practice):
    ClinicalSessionFactory(practice=practice, clinician=alice)
    stranger = UserFactory()
    assert list(ClinicalSession.objects.visible_to(stranger)) == []
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert list(ClinicalSession.objects.visible_to(alice)) == []


def test_a_membership_removed_is_seen_at_once(alice, bob, practice):
    ClinicalSessionFactory(practice=practice, clinician=bob)
    assert ClinicalSession.objects.visible_to(alice).count() == 1
    Membership.objects.filter(user=alice).delete()
    assert ClinicalSession.objects.visible_to(alice).count() == 0


def test_related_rows_follow_the_sessions_a_user_sees(alice, bob, practice, charlie, other_practice):
    from jobs.models import Job

    mine = ClinicalSessionFactory(practice=practice, clinician=bob)
    theirs = ClinicalSessionFactory(practice=other_practice, clinician=charlie)
    for session in (mine, theirs):
        Job.objects.create(session=session, media_sha256="0" * 64, status=Job.Status.SUCCEEDED)
    assert [job.session_id for job in Job.objects.visible_to(alice)] == [mine.pk]
    assert list(Job.objects.visible_to(UserFactory())) == []


# --- today first, a page at a time ----------------------------------------------------------------


def test_today_first_pages_read_across_today_later_and_earlier_in_order(alice, practice):
    now = timezone.localtime()
    today = now.replace(hour=12, minute=0, second=0, microsecond=0)
    labels = []
    for number in range(4):
        ClinicalSessionFactory(
            practice=practice,
            clinician=alice,
            client_label=f"today-{number}",
            occurred_at=today.replace(hour=8 + number),
        )
    for number in range(3):
        ClinicalSessionFactory(
            practice=practice,
            clinician=alice,
            client_label=f"later-{number}",
            occurred_at=today + dt.timedelta(days=1 + number),
        )
    for number in range(5):
        ClinicalSessionFactory(
            practice=practice,
            clinician=alice,
            client_label=f"earlier-{number}",
            occurred_at=today - dt.timedelta(days=1 + number),
        )
    labels = [f"today-{n}" for n in (3, 2, 1, 0)] + [f"later-{n}" for n in (2, 1, 0)]
    labels += [f"earlier-{n}" for n in range(5)]

    sessions = TodayFirst(with_state(ClinicalSession.objects.visible_to(alice)))
    assert sessions.count() == len(sessions) == 12
    assert sessions.sizes() == [4, 3, 5]
    assert [s.client_label for s in sessions[0:12]] == labels
    for start in range(12):
        for stop in range(start, 14):
            assert [s.client_label for s in sessions[start:stop]] == labels[start:stop], (start, stop)
    assert [s.client_label for s in sessions[5:]] == labels[5:]
    assert sessions[4].client_label == "later-2"
    assert sessions[-1].client_label == "earlier-4"
    assert [s.client_label for s in sessions] == labels
    with pytest.raises(IndexError):
        sessions[12]
    with pytest.raises(TypeError):
        sessions[0:4:2]


def test_the_list_pages_through_every_session_once_today_first(alice, alice_client, practice):
    now = timezone.localtime()
    for number in range(PAGE_SIZE + 5):
        ClinicalSessionFactory(
            practice=practice,
            clinician=alice,
            client_label=f"S-{number:03d}",
            occurred_at=now - dt.timedelta(days=number % 3, minutes=number),
        )
    seen = []
    for page in (1, 2):
        html = alice_client.get(reverse("clinical_sessions:list"), {"page": page}).content.decode()
        seen += re.findall(r'data-label="Client">([^<]+)<', html)
    assert sorted(seen) == sorted(f"S-{number:03d}" for number in range(PAGE_SIZE + 5))
    assert f"{PAGE_SIZE + 5} sessions" in html
    assert "Page 2 of 2" in html


# --- the same queries for a few sessions or many ------------------------------------------------------


def _queries(client: Client, path: str, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["alice", "bob"])
@pytest.mark.parametrize("page", [1, 2])
def test_the_list_page_takes_the_same_queries_for_many_sessions(request, who, page, practice, other_practice):
    """The queries depend on which of today, later and earlier the page shows (one read each), never on how many
    sessions there are."""
    user = request.getfixturevalue(who)
    client = request.getfixturevalue(f"{who}_client")
    colleague = request.getfixturevalue("bob" if who == "alice" else "alice")
    charlie = request.getfixturevalue("charlie")
    now = timezone.now()
    url = reverse("clinical_sessions:list")
    _sessions(practice, user, 1, occurred_at=now)
    _sessions(practice, user, 1, occurred_at=now + dt.timedelta(days=2))
    _sessions(practice, user, 2 * PAGE_SIZE, occurred_at=now - dt.timedelta(days=2))
    _queries(client, url, page=page)
    few = _queries(client, url, page=page)
    # Many more before today, a colleague's, another practice's.
    _sessions(practice, user, 30, occurred_at=now - dt.timedelta(days=5))
    _sessions(practice, colleague, 10)
    _sessions(other_practice, charlie, 10)
    assert _queries(client, url, page=page) == few


def test_the_list_page_reads_at_most_three_ranges_whatever_the_rows(alice, alice_client, practice):
    now = timezone.now()
    url = reverse("clinical_sessions:list")
    _sessions(practice, alice, 1, occurred_at=now - dt.timedelta(days=2))
    one_range = _queries(alice_client, url)
    _sessions(practice, alice, 1, occurred_at=now)
    _sessions(practice, alice, 1, occurred_at=now + dt.timedelta(days=2))
    three_ranges = _queries(alice_client, url)
    assert three_ranges == one_range + 2
    _sessions(practice, alice, 3 * PAGE_SIZE, occurred_at=now - dt.timedelta(days=3))
    assert _queries(alice_client, url) == three_ranges
    assert _queries(alice_client, url, page=3) == one_range


def test_the_session_page_takes_the_same_queries_whatever_else_the_practice_holds(alice, alice_client, practice):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    url = reverse("clinical_sessions:detail", kwargs={"pk": session.pk})
    _queries(alice_client, url)
    few = _queries(alice_client, url)
    _sessions(practice, alice, 30)
    assert _queries(alice_client, url) == few


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_api_list_takes_the_same_queries_for_many_sessions_when_signed_in(request, who, practice, other_practice):
    from jobs.models import Job

    user = request.getfixturevalue(who)
    client = request.getfixturevalue(f"{who}_client")
    charlie = request.getfixturevalue("charlie")
    _sessions(practice, user, 2)
    _queries(client, "/api/v1/sessions")
    few = _queries(client, "/api/v1/sessions")
    for session in _sessions(practice, user, 20):
        Job.objects.create(session=session, media_sha256="0" * 64, status=Job.Status.SUCCEEDED)
    _sessions(other_practice, charlie, 10)
    assert _queries(client, "/api/v1/sessions") == few
    assert _queries(client, "/api/v1/sessions", page_size=5) == few


# --- plans: the index in order, not a sort of every row -------------------------------------------


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's plans; PostgreSQL's depend on statistics")
def test_the_api_list_reads_the_practice_newest_first_from_the_index(alice, bob):
    newest_first = ClinicalSession.objects.visible_to(alice).order_by("-created_at")[:51]
    plan = _plan(newest_first)
    assert "session_practice_created" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan

    own_newest_first = ClinicalSession.objects.visible_to(bob).order_by("-created_at")[:51]
    plan = _plan(own_newest_first)
    assert "session_clinician_created" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's plans; PostgreSQL's depend on statistics")
def test_a_page_of_the_list_reads_one_range_of_the_index(alice):
    start = timezone.now() - dt.timedelta(days=1)
    earlier = ClinicalSession.objects.visible_to(alice).filter(occurred_at__lt=start)
    plan = _plan(earlier.order_by(*TodayFirst.ORDER)[25:50])
    assert "session_practice_occurred" in plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan  # at most for the right part (created_at), within a date
