from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_schedules(sender: AppConfig, **kwargs: Any) -> None:
    # The dispatcher and the purge must be scheduled wherever the database is: every `migrate` (the first step
    # of every start) makes sure they are, without moving their next run.
    from jobs.schedules import ensure_schedules

    ensure_schedules()


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="jobs.ensure_schedules")
        from config.metrics import register_scrape_gauges
        from jobs import metrics, queue_stats, transitions
        from jobs.metering import usage_on_success

        # Audio minutes are metered at the success of a run, in the transaction that records it.
        transitions.on_transition(usage_on_success)
        transitions.on_transition(metrics.count_transition)
        register_scrape_gauges(queue_stats.queue_gauges)

        from jobs.audit import register_audit_lookups

        register_audit_lookups()

        from django_q.signals import post_spawn

        from jobs.warmup import warm_worker

        post_spawn.connect(warm_worker, dispatch_uid="jobs.warm_worker")
