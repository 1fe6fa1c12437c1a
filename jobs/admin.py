from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from billing.services import PlanLimitExceeded
from jobs.models import Artifact, Job, JobEvent
from jobs.services import JobAlreadyActive, JobNotRetryable, job_cancel, job_retry


class JobEventInline(admin.TabularInline[JobEvent, Job]):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "stage", "message", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ArtifactInline(admin.TabularInline[Artifact, Job]):
    model = Artifact
    extra = 0
    can_delete = False
    fields = ("kind", "key", "bytes", "sha256", "expires_at", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = ["id", "session_id", "status", "stage", "attempts", "crash_count", "error_code", "created_at"]
    list_filter = ["status", "stage", "error_code", "session__practice"]
    search_fields = ["=id", "=session__id", "session__practice__name", "error_code"]
    list_select_related = ["session"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Job._meta.fields]
    inlines = [JobEventInline, ArtifactInline]
    actions = ["retry_jobs", "cancel_jobs"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected failed or canceled jobs")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        retried = skipped = refused = 0
        staff = request.user if isinstance(request.user, User) else None
        for job in queryset:
            try:
                job_retry(job=job, requested_by=staff)
            except (JobNotRetryable, JobAlreadyActive):
                skipped += 1
            except PlanLimitExceeded:
                refused += 1
            else:
                retried += 1
        self.message_user(request, f"Retried {retried} job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} job(s) that were not failed or canceled.", messages.WARNING)
        if refused:
            self.message_user(
                request,
                f"Skipped {refused} job(s) their practice's plan does not cover (grant minutes under Billing first).",
                messages.WARNING,
            )

    @admin.action(description="Cancel the selected active jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        staff = request.user if isinstance(request.user, User) else None
        count = 0
        for job in queryset.filter(status__in=Job.ACTIVE_STATUSES):
            job_cancel(job=job, requested_by=staff)
            count += 1
        self.message_user(request, f"Asked {count} job(s) to stop.", messages.SUCCESS)
