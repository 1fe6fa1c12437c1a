"""Pipeline runs (Job), their history (JobEvent) and the files each stage commits (Artifact).

The Job row is the source of truth; django-q2 only delivers "run job X". A worker changes a job only
through conditional updates on its lease token (jobs/runner.py), never by saving a loaded instance.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q

from accounts.models import User
from sessions.models import ClinicalSession


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: User | AnonymousUser) -> JobQuerySet:
        return self.filter(session__in=ClinicalSession.objects.visible_to(user))

    def active(self) -> JobQuerySet:
        return self.filter(status__in=Job.ACTIVE_STATUSES)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        RETRY_WAIT = "retry_wait", "Waiting to retry"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Stage(models.TextChoices):
        PREPARE = "prepare", "Preparing audio"
        TRANSCRIBE = "transcribe", "Transcribing"
        DRAFT = "draft", "Drafting the note"
        EXPORT = "export", "Exporting"
        DONE = "done", "Done"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.RETRY_WAIT)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)
    STAGE_ORDER = (Stage.PREPARE, Stage.TRANSCRIBE, Stage.DRAFT, Stage.EXPORT, Stage.DONE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(ClinicalSession, on_delete=models.CASCADE, related_name="jobs")
    # The audio this run works on, pinned so that a replaced recording never mixes into a running job.
    media_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.PREPARE)
    attempts = models.PositiveIntegerField(default=0)
    crash_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=100, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # {"done": k, "total": n} for the stage that counts (chunks while transcribing).
    progress = models.JSONField(default=dict, blank=True)
    # Seconds each finished stage took, by stage name.
    timings = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(status__in=["queued", "running", "retry_wait"]),
                name="job_one_active_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="job_status_due"),
            models.Index(fields=["status", "lease_expires_at"], name="job_status_lease"),
        ]

    def __str__(self) -> str:
        return f"Job {self.id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def stage_number(self) -> int:
        return self.STAGE_ORDER.index(Job.Stage(self.stage)) + 1

    def progress_text(self) -> str:
        done, total = self.progress.get("done"), self.progress.get("total")
        if self.stage == self.Stage.TRANSCRIBE and total:
            return f"chunk {done} of {total}"
        return ""


class JobEvent(models.Model):
    """One transition of a job: what happened, when, at which stage, who asked. Never holds PHI."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STARTED = "started", "Started"
        STAGE = "stage", "Stage finished"
        PROGRESS = "progress", "Progress"
        RETRY_SCHEDULED = "retry_scheduled", "Retry scheduled"
        RECLAIMED = "reclaimed", "Reclaimed after a lost worker"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        RETRIED = "retried", "Retried by hand"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    stage = models.CharField(max_length=16, choices=Job.Stage.choices, blank=True)
    message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.stage}".strip()


class Artifact(models.Model):
    """A stored output of a stage. The row is the commit point: a file no row references is an orphan."""

    class Kind(models.TextChoices):
        CHUNK_AUDIO = "chunk_audio", "Audio chunk"
        CHUNK_TRANSCRIPT = "chunk_transcript", "Chunk transcript"
        TRANSCRIPT_JSON = "transcript_json", "Transcript (JSON)"
        TRANSCRIPT_TXT = "transcript_txt", "Transcript (text)"
        TRANSCRIPT_SRT = "transcript_srt", "Transcript (subtitles)"
        DRAFT_JSON = "draft_json", "Drafted sections (JSON)"
        NOTE_DOCX = "note_docx", "Note (.docx)"
        NOTE_TXT = "note_txt", "Note (.txt)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # Distinguishes several artifacts of one kind, e.g. the chunk index.
    key = models.CharField(max_length=40, default="", blank=True)
    storage_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    bytes = models.BigIntegerField(default=0)
    # Facts about the artifact that are not PHI: a chunk's start, end, whether it was silent.
    meta = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set by the purge before it deletes the file, so a crash between the two leaves a row that says so.
    purging_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "key"]
        constraints = [models.UniqueConstraint(fields=["job", "kind", "key"], name="artifact_unique_kind_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}".strip()

    def meta_value(self, name: str, default: Any = None) -> Any:
        return self.meta.get(name, default)


class PurgeRun(models.Model):
    """One pass of the retention purge, with what it deleted (or, dry, would delete)."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    # What each kind of deletion counted (see jobs.purge), plus "skipped" when another run held the lock.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Purge {self.started_at:%Y-%m-%d %H:%M}"
