"""Integrator API for pipeline runs: start, read, retry, cancel, results with signed download links, the
runner pass for outside schedulers, and the month's usage (docs/api.md)."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.audit import actor_fields, audit_annotate
from accounts.models import ApiKey, User
from accounts.tenancy import current_membership
from api.authentication import acting_user, caller_identity
from api.errors import ApiError, plan_limit_error
from api.idempotency import idempotent_response, request_fingerprint
from api.schema import IDEMPOTENCY_PARAMETER, error_responses
from api.throttles import CallerRateThrottle, IpRateThrottle
from api.views import ApiView, IgnoreAcceptNegotiation, PublicApiView
from billing.services import PlanLimitExceeded, billing_enabled, usage_summary
from config.downloads import set_download_headers
from config.utc import utc_iso
from jobs.dispatch import dispatch_pass
from jobs.models import Artifact, Job, JobEvent
from jobs.services import (
    AI_DISABLED_MESSAGE,
    AiDisabled,
    ConsentRequired,
    JobAlreadyActive,
    JobNotRetryable,
    NothingToProcess,
    ai_disabled,
    job_cancel,
    job_retry,
    job_start,
)
from notes.api import NoteSerializer
from notes.exports import DOCX_CONTENT_TYPE, TXT_CONTENT_TYPE
from notes.models import Note
from sessions.api import SessionScoped, TranscriptSerializer
from sessions.models import Transcript

DOWNLOAD_SALT = "api.artifact-download"
PLAN_LIMIT_DESCRIPTION = (
    "plan_limit_exceeded: the practice's plan does not cover this run; details.reason is no_subscription, "
    "minutes_exhausted or seats_exhausted"
)
# The artifacts a result offers: what a run produced for people, not its intermediate pieces.
RESULT_KINDS = {
    Artifact.Kind.TRANSCRIPT_JSON: ("transcript", "json", "application/json"),
    Artifact.Kind.TRANSCRIPT_TXT: ("transcript", "txt", TXT_CONTENT_TYPE),
    Artifact.Kind.TRANSCRIPT_SRT: ("transcript", "srt", "application/x-subrip"),
    Artifact.Kind.NOTE_DOCX: ("note", "docx", DOCX_CONTENT_TYPE),
    Artifact.Kind.NOTE_TXT: ("note", "txt", TXT_CONTENT_TYPE),
}
# Every succeeded run exports the note; the transcript files exist only when the run transcribed.
REQUIRED_KINDS = {Artifact.Kind.NOTE_DOCX, Artifact.Kind.NOTE_TXT}


def session_annotations() -> dict[str, Any]:
    """What the session resource needs from this app: its latest job."""
    latest = Job.objects.filter(session=OuterRef("pk")).order_by("-created_at").values("pk")[:1]
    return {"latest_job_id": Subquery(latest)}


# --- Resources -------------------------------------------------------------------------------------


class JobEventSerializer(serializers.ModelSerializer[JobEvent]):
    class Meta:
        model = JobEvent
        fields = ["kind", "stage", "message", "created_at"]
        read_only_fields = fields


class ProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class JobErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()


class JobSerializer(serializers.ModelSerializer[Job]):
    session_id = serializers.UUIDField(read_only=True)
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    events = JobEventSerializer(many=True, read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "session_id",
            "status",
            "stage",
            "progress",
            "attempts",
            "next_attempt_at",
            "error",
            "events",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, job: Job) -> dict[str, int] | None:
        done, total = job.progress.get("done"), job.progress.get("total")
        if isinstance(done, int) and isinstance(total, int) and total:
            return {"done": done, "total": total}
        return None

    @extend_schema_field(JobErrorSerializer(allow_null=True))
    def get_error(self, job: Job) -> dict[str, str] | None:
        if not job.error_code:
            return None
        return {"code": job.error_code, "message": job.error_message}


class ArtifactLinkSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in RESULT_KINDS])
    url = serializers.URLField(help_text="A signed link that works without credentials until expires_at.")
    expires_at = serializers.DateTimeField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class ResultSerializer(serializers.Serializer[Any]):
    job_id = serializers.UUIDField()
    transcript = TranscriptSerializer(allow_null=True)
    note = NoteSerializer(allow_null=True)
    artifacts = ArtifactLinkSerializer(many=True)


def _jobs_with_events() -> QuerySet[Job]:
    # JobEvent's own ordering is the order they happened in.
    return Job.objects.prefetch_related("events")


# --- Views ---------------------------------------------------------------------------------------


def _ai_disabled() -> ApiError:
    return ApiError(status_code=503, code="ai_disabled", message=AI_DISABLED_MESSAGE)


class JobCreate(SessionScoped):
    throttle_classes = [CallerRateThrottle, IpRateThrottle]
    throttle_scope = "jobs"

    @extend_schema(
        operation_id="sessions_jobs_create",
        summary="Start processing the session's recording",
        description="Queues a run of the pipeline (prepare, transcribe, draft, export); poll the job for progress.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=None,
        responses={
            202: JobSerializer,
            **error_responses(
                400,
                402,
                404,
                409,
                422,
                429,
                503,
                s402=PLAN_LIMIT_DESCRIPTION,
                s409="conflict: a job is already active (details.job is it), or the session has no recording yet; "
                "consent_required: the practice requires the client's consent before processing",
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        session = self.get_object()
        # Refused before the idempotency record, so that nothing is created or replayed while AI is off.
        if ai_disabled():
            raise _ai_disabled()
        return idempotent_response(
            request=request,
            practice=session.practice,
            fingerprint=request_fingerprint(request),
            create=lambda: self._start(session),
        )

    def _start(self, session: Any) -> Response:
        try:
            job = job_start(session=session, requested_by=acting_user(self.request))
        except NothingToProcess:
            raise ApiError(
                status_code=409,
                code="conflict",
                message="The session has no audio to process: upload its recording (audio is removed some time "
                "after a successful transcript, under the practice's retention policy).",
            ) from None
        except ConsentRequired:
            raise _consent_required() from None
        except JobAlreadyActive as active:
            raise ApiError(
                status_code=409,
                code="conflict",
                message="The session is already being processed.",
                details={"job": JobSerializer(_jobs_with_events().get(pk=active.job.pk)).data},
            ) from None
        except PlanLimitExceeded as refused:
            raise plan_limit_error(refused) from None
        return Response(JobSerializer(_jobs_with_events().get(pk=job.pk)).data, status=status.HTTP_202_ACCEPTED)


class JobScoped(ApiView):
    practice_lookup = "session__practice_id"

    def model_queryset(self) -> QuerySet[Any]:
        return _jobs_with_events()


class JobDetail(JobScoped):
    @extend_schema(
        operation_id="jobs_retrieve",
        summary="Read a job",
        responses={200: JobSerializer, **error_responses(404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(JobSerializer(self.get_object()).data)


class JobRetry(JobScoped):
    throttle_classes = [CallerRateThrottle, IpRateThrottle]
    throttle_scope = "jobs"

    @extend_schema(
        operation_id="jobs_retry",
        summary="Retry a failed or canceled job",
        description="Resumes at the stage that failed; finished stages are not repeated.",
        request=None,
        responses={202: JobSerializer, **error_responses(402, 404, 409, 429, 503, s402=PLAN_LIMIT_DESCRIPTION)},
    )
    def post(self, request: Request, pk: str) -> Response:
        job = self.get_object()
        try:
            job_retry(job=job, requested_by=acting_user(request))
        except AiDisabled:
            raise _ai_disabled() from None
        except JobNotRetryable:
            raise ApiError(
                status_code=409, code="conflict", message="Only a failed or canceled job can be retried."
            ) from None
        except ConsentRequired:
            raise _consent_required() from None
        except JobAlreadyActive as active:
            raise ApiError(
                status_code=409,
                code="conflict",
                message="The session is already being processed.",
                details={"job": JobSerializer(_jobs_with_events().get(pk=active.job.pk)).data},
            ) from None
        except PlanLimitExceeded as refused:
            raise plan_limit_error(refused) from None
        return Response(JobSerializer(self.get_object()).data, status=status.HTTP_202_ACCEPTED)


class JobCancel(JobScoped):
    @extend_schema(
        operation_id="jobs_cancel",
        summary="Cancel a job",
        description="A queued or waiting job ends at once; a running one stops after its current step.",
        request=None,
        responses={202: JobSerializer, **error_responses(404, 409, s409="conflict: the job has already finished")},
    )
    def post(self, request: Request, pk: str) -> Response:
        job = self.get_object()
        if not job.is_active:
            raise ApiError(status_code=409, code="conflict", message="The job has already finished.")
        job_cancel(job=job, requested_by=acting_user(request))
        return Response(JobSerializer(self.get_object()).data, status=status.HTTP_202_ACCEPTED)


class JobResult(JobScoped):
    def model_queryset(self) -> QuerySet[Any]:
        return Job.objects.select_related("session")

    @extend_schema(
        operation_id="jobs_result",
        summary="Read a succeeded job's result",
        description=(
            "The transcript, the session's note and the run's files as signed links that expire after a few "
            "minutes (fetch the result again for fresh ones)."
        ),
        responses={
            200: ResultSerializer,
            **error_responses(
                404,
                409,
                410,
                s409="conflict: the job has not succeeded (details.status)",
                s410="gone: the run's files were deleted under the retention policy",
            ),
        },
    )
    def get(self, request: Request, pk: str) -> Response:
        job: Job = self.get_object()
        if job.status != Job.Status.SUCCEEDED:
            raise ApiError(
                status_code=409,
                code="conflict",
                message="The job has no result: it has not succeeded.",
                details={"status": job.status},
            )
        artifacts = list(Artifact.objects.filter(job=job, kind__in=list(RESULT_KINDS)).order_by("kind"))
        if _purged(artifacts):
            raise ApiError(
                status_code=410,
                code="gone",
                message="This job's files were deleted under the retention policy; process the session again.",
            )
        session = job.session
        transcript = Transcript.objects.filter(session=session, media_sha256=job.media_sha256).first()
        note = Note.objects.filter(session=session, note_type=session.note_type).select_related("signed_by").first()
        links = [_artifact_link(request, artifact) for artifact in artifacts]
        return Response(
            {
                "job_id": str(job.pk),
                "transcript": TranscriptSerializer(transcript).data if transcript else None,
                "note": NoteSerializer(note).data if note else None,
                "artifacts": links,
            }
        )


def _purged(artifacts: list[Artifact]) -> bool:
    now = timezone.now()
    if not {artifact.kind for artifact in artifacts} >= REQUIRED_KINDS:
        return True
    return any(
        artifact.purging_at is not None
        or not artifact.storage_name
        or (artifact.expires_at is not None and artifact.expires_at <= now)
        for artifact in artifacts
    )


def _download_name(artifact: Artifact) -> str:
    stem, extension, _ = RESULT_KINDS[Artifact.Kind(artifact.kind)]
    return f"{stem}-{str(artifact.job_id)[:8]}.{extension}"


def _artifact_link(request: Request, artifact: Artifact) -> dict[str, Any]:
    seconds = int(settings.API_DOWNLOAD_URL_SECONDS)
    expires_at = timezone.now() + dt.timedelta(seconds=seconds)
    # Served by our own view whatever the storage (a bucket's presigned URL could not carry nosniff and the
    # sandbox CSP); result files are a transcript and a note, small enough to pass through.
    # The link names who it was issued to, so that its download is audited as theirs.
    claims = {"artifact": str(artifact.pk), "by": caller_identity(request)}
    token = signing.dumps(claims, salt=DOWNLOAD_SALT, compress=False)
    url = request.build_absolute_uri(reverse("api:artifact_download", kwargs={"token": token}))
    return {
        "kind": artifact.kind,
        "url": url,
        "expires_at": utc_iso(expires_at),
        "bytes": artifact.bytes,
        "sha256": artifact.sha256,
    }


class ArtifactDownload(PublicApiView):
    """A result file behind a signed, expiring link: the signature is the credential, so the link works
    from any HTTP client, without the API key."""

    content_negotiation_class = IgnoreAcceptNegotiation

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The link is the credential, checked before anything else, whatever the method.
        try:
            self.claims: dict[str, Any] = signing.loads(
                kwargs["token"], salt=DOWNLOAD_SALT, max_age=int(settings.API_DOWNLOAD_URL_SECONDS)
            )
        except signing.SignatureExpired:
            raise ApiError(
                status_code=403,
                code="permission_denied",
                message="This download link has expired; read the job's result again for a fresh one.",
            ) from None
        except signing.BadSignature:
            raise ApiError(
                status_code=403, code="permission_denied", message="This download link is not valid."
            ) from None

    @extend_schema(
        operation_id="artifacts_download",
        summary="Download a result file (signed link)",
        auth=[],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            **error_responses(403, 410, s403="permission_denied: the link is invalid or has expired"),
        },
    )
    def get(self, request: Request, token: str) -> FileResponse:
        artifact = (
            Artifact.objects.select_related("job__session").filter(pk=str(self.claims.get("artifact", ""))).first()
        )
        _audit_download(request, self.claims, artifact)
        gone = ApiError(status_code=410, code="gone", message="This file was deleted under the retention policy.")
        expired = artifact is not None and artifact.expires_at is not None and artifact.expires_at <= timezone.now()
        if artifact is None or artifact.purging_at is not None or expired or artifact.kind not in RESULT_KINDS:
            raise gone
        try:
            handle = default_storage.open(artifact.storage_name, "rb")
        except (FileNotFoundError, OSError):
            raise gone from None
        _, _, content_type = RESULT_KINDS[Artifact.Kind(artifact.kind)]
        response = FileResponse(handle, content_type=content_type)
        set_download_headers(response, _download_name(artifact))
        return response


def _audit_download(request: Request, claims: dict[str, Any], artifact: Artifact | None) -> None:
    """The download's audit event (accounts.audit_routes) is the link's caller's: the key or member it was issued
    to, on their practice."""
    kind, _, caller_id = str(claims.get("by", "")).partition(":")
    actor: ApiKey | User | None = None
    practice_id = None
    if kind == "key":
        actor = ApiKey.objects.filter(pk=caller_id).first()
        practice_id = actor.practice_id if actor is not None else None
    elif kind == "user":
        actor = User.objects.filter(pk=caller_id).first()
        membership = current_membership(actor) if actor is not None else None
        practice_id = membership.practice_id if membership is not None else None
    if actor is None:
        return
    audit_annotate(
        request,
        **actor_fields(actor),
        practice_id=practice_id,
        object_id=str(claims.get("artifact", "")),
        session_id=artifact.job.session_id if artifact is not None else None,
    )


class RunnerCaller:
    is_authenticated = True
    is_active = False
    pk = None


class RunnerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <JOBS_RUNNER_TOKEN>``. Without a bearer: 401. With one while the setting is
    empty: 404, the endpoint is off. With another token (an API key included): 403."""

    def authenticate(self, request: Request) -> tuple[RunnerCaller, None] | None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        expected = str(settings.JOBS_RUNNER_TOKEN)
        if not expected:
            raise exceptions.NotFound("The runner endpoint is off: set JOBS_RUNNER_TOKEN to enable it.")
        if not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise exceptions.PermissionDenied("This token may not run the jobs runner.")
        return RunnerCaller(), None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="runner"'


class JobsRunner(PublicApiView):
    authentication_classes = [RunnerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="jobs_runner",
        summary="Run one dispatch and purge pass (for outside schedulers)",
        description=(
            "Authenticated by `Authorization: Bearer <JOBS_RUNNER_TOKEN>`, not an API key. Starts retries that "
            "are due, reclaims jobs whose worker died, deletes what is past its retention; returns the counts. "
            "404 while JOBS_RUNNER_TOKEN is not set."
        ),
        request=None,
        auth=[],
        responses={
            200: inline_serializer(
                "RunnerCounts",
                {
                    "dispatch": serializers.DictField(child=serializers.IntegerField()),
                    "purge": serializers.DictField(child=serializers.IntegerField()),
                },
            ),
            **error_responses(403, 404, s404="not_found: the runner endpoint is off (JOBS_RUNNER_TOKEN unset)"),
        },
    )
    def post(self, request: Request) -> Response:
        # Imported here: the purge is a separate piece that may be deployed without this endpoint's callers.
        from jobs.purge import purge_run

        dispatched = dispatch_pass()
        purged = purge_run()
        return Response({"dispatch": dict(dispatched), "purge": dict(purged.counts)})


class UsageSerializer(serializers.Serializer[Any]):
    plan = serializers.CharField(
        allow_null=True, help_text="basic, pro, premium, or trial; null while billing is off (self-hosted mode)."
    )
    status = serializers.CharField(
        allow_null=True,
        help_text="trialing, active, past_due (still working during the grace period), unpaid, canceled, …; "
        "null while billing is off.",
    )
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    minutes_used = serializers.FloatField(
        help_text="Audio minutes the practice used this period, counted once per transcribed recording."
    )
    limits = inline_serializer(
        "UsageLimits",
        {
            "audio_minutes": serializers.IntegerField(help_text="Minutes of the plan this period, grants included."),
            "seats": serializers.IntegerField(help_text="Members the plan allows."),
        },
        allow_null=True,
    )
    audio_minutes = serializers.FloatField(
        help_text="Decoded audio of the recordings of the jobs you can see that succeeded this period."
    )
    jobs_succeeded = serializers.IntegerField()


class Usage(JobScoped):
    def model_queryset(self) -> QuerySet[Any]:
        return Job.objects.all()

    @extend_schema(
        operation_id="usage_retrieve",
        summary="This period's usage against the plan",
        description=(
            "The practice's plan, its status, the current billing period (the trial's days during the trial) and "
            "the audio minutes used in it against the plan's limits. While billing is off (self-hosted mode) "
            "`plan`, `status` and `limits` are null and the period is the calendar month (server time zone)."
        ),
        responses={200: UsageSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        summary = usage_summary(self.caller_practice()) if billing_enabled() else None
        if summary is None:
            now = timezone.localtime()
            start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            end = (start + dt.timedelta(days=32)).replace(day=1)
        else:
            start, end = summary.period_start, summary.period_end
        succeeded = self.get_queryset().filter(status=Job.Status.SUCCEEDED, finished_at__gte=start, finished_at__lt=end)
        seconds = succeeded.filter(session__recording__sha256=F("media_sha256")).aggregate(
            total=Sum("session__recording__duration_seconds")
        )["total"]
        audio_minutes = round((seconds or 0.0) / 60, 2)
        body = {
            "plan": None,
            "status": None,
            "period_start": start,
            "period_end": end,
            "minutes_used": audio_minutes,
            "limits": None,
            "audio_minutes": audio_minutes,
            "jobs_succeeded": succeeded.count(),
        }
        if summary is not None:
            body.update(
                plan=summary.plan,
                status=summary.status,
                minutes_used=summary.minutes_used,
                limits={"audio_minutes": summary.minutes_limit, "seats": summary.seats_limit},
            )
        return Response(UsageSerializer(body).data)


def _consent_required() -> ApiError:
    return ApiError(
        status_code=409,
        code="consent_required",
        message="Your practice requires the client's consent before processing: record it as given "
        "(POST /sessions/{id}/consent), then start the job.",
    )
