"""The periodic tasks every deployment runs, as django-q2 Schedule rows that any qcluster picks up.

``ensure_schedules()`` is idempotent: run it at every start; it creates what is missing and brings the rest back
to the definitions below, without moving a schedule's next run. django-q2 has no per-schedule catch-up switch:
``Q_CLUSTER["catch_up"] = False`` (config.settings) makes a cluster that was down run each schedule once, not
once per missed period. Overlap is prevented by the tasks themselves: the purge takes a lock and a second run
returns at once; the dispatcher's transitions are conditional updates that any number of passes can race on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "func": self.func,
            "schedule_type": self.schedule_type,
            "minutes": self.minutes,
            "repeats": -1,
            "args": None,
            "kwargs": None,
            "hook": None,
            "cron": None,
            "cluster": None,
        }


SCHEDULES = (
    ScheduleSpec(name="Retention purge", func="jobs.purge.purge_scheduled", schedule_type=Schedule.HOURLY),
    ScheduleSpec(name="Job dispatcher", func="jobs.dispatch.dispatch_pass", schedule_type=Schedule.MINUTES, minutes=1),
    # Billing's, registered here with the others (billing does not know jobs): applies the Stripe events the
    # webhook missed; a no-op while billing is off.
    ScheduleSpec(name="Stripe reconciliation", func="billing.tasks.reconcile_stripe", schedule_type=Schedule.HOURLY),
    # The accounts app's: rows of expired logins, which may hold an abandoned authenticator setup's key.
    ScheduleSpec(name="Expired logins", func="accounts.tasks.sessions_clear_expired", schedule_type=Schedule.HOURLY),
)


def ensure_schedules() -> list[str]:
    """Create or update the schedules; returns the names of those it created or changed."""
    changed: list[str] = []
    for spec in SCHEDULES:
        wanted = spec.fields()
        with transaction.atomic():
            rows = list(Schedule.objects.select_for_update().filter(name=spec.name).order_by("pk"))
            if not rows:
                Schedule.objects.create(name=spec.name, next_run=timezone.now(), **wanted)
                changed.append(spec.name)
                continue
            schedule, duplicates = rows[0], rows[1:]
            if duplicates:
                Schedule.objects.filter(pk__in=[row.pk for row in duplicates]).delete()
            stale = {field: value for field, value in wanted.items() if getattr(schedule, field) != value}
            if stale:
                for field, value in stale.items():
                    setattr(schedule, field, value)
                schedule.save(update_fields=list(stale))
            if stale or duplicates:
                changed.append(spec.name)
    return changed
