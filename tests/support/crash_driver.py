"""Runs one job in this process and kills the process at a stage boundary, right before or right after the
boundary's commit: ``python -m tests.support.crash_driver JOB_ID STAGE before|after``."""

from __future__ import annotations

import os
import sys
from typing import Any

import django


def main() -> None:
    job_id, stage, moment = sys.argv[1:4]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from jobs import runner
    from jobs.models import Job
    from jobs.pipeline import STAGES

    order = list(Job.STAGE_ORDER)
    boundary = order[order.index(Job.Stage(stage)) + 1]
    commit = runner.Lease.update

    def update(self: runner.Lease, **fields: Any) -> None:
        # The commit that closes `stage` is the one that moves the job on to the next stage.
        crossing = fields.get("stage") == boundary
        if crossing and moment == "before":
            os._exit(137)
        commit(self, **fields)
        if crossing and moment == "after":
            os._exit(137)

    runner.Lease.update = update  # type: ignore[method-assign]
    runner.job_execute(job_id, stages=STAGES)
    sys.exit(3)  # the boundary was never reached


if __name__ == "__main__":
    main()
