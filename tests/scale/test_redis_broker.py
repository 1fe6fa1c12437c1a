"""The pipeline through django-q2's Redis broker (``REDIS_URL``): a job's task goes to Redis, not to the database,
and a real ``qcluster`` started with ``REDIS_URL`` takes it from there to the end."""

from __future__ import annotations

import pytest
from django_q.models import OrmQ, Task

from jobs.models import Job, JobEvent
from jobs.services import job_start
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.workers import start_cluster, stop_cluster, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_queued_through_redis_is_taken_by_a_qcluster_and_reaches_done(alice, redis_broker, settings):
    settings.AI_MODE = "stub"
    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice, note_type="soap")
    recording_replace(session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice)

    job = job_start(session=session, requested_by=alice)

    # The task waits in Redis, and the database's queue (the ORM broker) has nothing.
    assert redis_broker.queued() == 1
    assert not OrmQ.objects.exists()
    cluster = start_cluster(REDIS_URL=redis_broker.url)
    try:
        wait_until(
            lambda: Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED, timeout=60, what="the job to finish"
        )
    finally:
        stop_cluster(cluster)

    assert redis_broker.queued() == 0
    kinds = list(JobEvent.objects.filter(job=job).values_list("kind", flat=True))
    assert kinds.count(JobEvent.Kind.STARTED) == 1
    assert kinds.count(JobEvent.Kind.SUCCEEDED) == 1
    # django-q2 keeps the task's result in the database whatever the broker.
    assert Task.objects.filter(name=f"job {job.pk}", success=True).count() == 1
