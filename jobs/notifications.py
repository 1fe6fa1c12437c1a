"""What happens when a job ends, beyond the job row: outbound notifications (webhooks)."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from config.utc import utc_iso
from integrations.models import WebhookDelivery
from integrations.webhooks import webhook_event_publish
from jobs.models import Job

logger = logging.getLogger(__name__)

EVENT_TYPES = {
    Job.Status.SUCCEEDED: WebhookDelivery.Event.JOB_SUCCEEDED,
    Job.Status.FAILED: WebhookDelivery.Event.JOB_FAILED,
}
# Event ids derive from the job and the moment it ended, so notifying the same ending twice sends it once.
_EVENT_NAMESPACE = uuid.UUID("6f1c3f0e-3a51-4d2b-9c55-7a0f3c2b8e11")


def notify_job_finished(job_id: uuid.UUID) -> None:
    """Record the webhook events of a job that just succeeded or failed.

    Called inside the transaction that ends the job (an outbox): the deliveries commit with the job's end or not
    at all, and their sending is queued once that has committed. The event holds ids, the status and the error
    code, never a transcript, note or client label. A failure here is contained in a savepoint and logged: it
    never undoes or fails the job.
    """
    try:
        with transaction.atomic():
            _publish(job_id)
    except Exception:
        logger.exception("could not queue the webhook events of job %s", job_id)


def _publish(job_id: uuid.UUID) -> None:
    job = Job.objects.select_related("session").filter(pk=job_id).first()
    if job is None or job.status not in EVENT_TYPES or job.finished_at is None:
        return
    event_type = EVENT_TYPES[Job.Status(job.status)]
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{job.pk}:{job.status}:{job.finished_at.isoformat()}")
    webhook_event_publish(
        practice_id=job.session.practice_id,
        event_type=event_type,
        event_id=event_id,
        data={
            "job_id": str(job.pk),
            "session_id": str(job.session_id),
            "status": job.status,
            "error_code": job.error_code or None,
            "finished_at": utc_iso(job.finished_at),
        },
    )
