from __future__ import annotations

import pytest
from django.core.management import call_command
from django_q.models import Schedule

pytestmark = pytest.mark.django_db


def test_migrate_schedules_the_dispatcher_the_purge_the_stripe_reconciliation_and_expired_logins():
    # The test database was built by migrate, which is what every start runs.
    schedules = dict(Schedule.objects.values_list("func", "schedule_type"))
    assert schedules == {
        "jobs.dispatch.dispatch_pass": Schedule.MINUTES,
        "jobs.purge.purge_scheduled": Schedule.HOURLY,
        "billing.tasks.reconcile_stripe": Schedule.HOURLY,
        "accounts.tasks.sessions_clear_expired": Schedule.HOURLY,
    }


def test_schedules_are_not_duplicated_by_another_migrate():
    call_command("migrate", verbosity=0)
    assert Schedule.objects.count() == 4
