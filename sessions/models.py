"""A clinical session and the recording of it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q

from accounts.models import Practice, User
from accounts.tenancy import practice_ids_visible_to, practice_reach
from config.encrypted_fields import EncryptedJSONField, EncryptedTextField


class ClinicalSessionQuerySet(models.QuerySet["ClinicalSession"]):
    def visible_to(self, user: User | AnonymousUser) -> ClinicalSessionQuerySet:
        """Owners and admins see their practice's sessions; a clinician sees the ones they run.

        The user's practices are read first (one small query), so that the sessions' query names them outright:
        for the usual member of one practice it is ``practice_id = X`` (and ``clinician_id = Y``), which the
        indexes below answer in order, a page at a time, however many sessions the practice holds.
        """
        if not user.is_authenticated:
            return self.none()
        whole, own = practice_reach(user)
        condition = Q()
        if whole:
            condition |= _one_of("practice_id", whole)
        if own:
            condition |= _one_of("practice_id", own) & Q(clinician_id=user.pk)
        if not condition:
            return self.none()
        return self.filter(condition)


def _one_of(name: str, values: list[object]) -> Q:
    return Q(**{name: values[0]}) if len(values) == 1 else Q(**{f"{name}__in": values})


class ClinicalSession(models.Model):
    class Status(models.TextChoices):
        AWAITING_RECORDING = "awaiting_recording", "Awaiting recording"
        RECORDED = "recorded", "Recorded"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Note ready"
        FAILED = "failed", "Failed"

    class ConsentStatus(models.TextChoices):
        GIVEN = "given", "Given"
        DECLINED = "declined", "Declined"
        NOT_RECORDED = "not_recorded", "Not recorded"

    class ReviewState(models.TextChoices):
        """Where the session's note stands; set by the notes app (``sessions.services.session_set_review_state``)."""

        DRAFT = "draft", "Draft"
        NEEDS_REVIEW = "needs_review", "Needs review"
        SIGNED = "signed", "Signed"
        AMENDED = "amended", "Amended"

    class ConsentMethod(models.TextChoices):
        VERBAL = "verbal", "Verbal"
        WRITTEN = "written", "Written"
        ELECTRONIC = "electronic", "Electronic"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="sessions")
    clinician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="clinical_sessions")
    client_label = models.CharField(
        max_length=80, help_text="A pseudonymous label for the client, such as initials or a chart number."
    )
    occurred_at = models.DateTimeField()
    note_type = models.CharField(max_length=64, default="soap")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.AWAITING_RECORDING)
    # Consent to record the session: its status, how it was given (or refused), the version of the practice's
    # consent script the client was shown, and who recorded it when. A method without "given" is how a refusal
    # was expressed.
    consent_status = models.CharField(max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.NOT_RECORDED)
    # The state of the note in the session's format; empty while it has none. sessions/states.py combines it
    # with ``status`` into what the pages show.
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, blank=True, default="")
    consent_method = models.CharField(max_length=16, choices=ConsentMethod.choices, blank=True)
    consent_script = models.ForeignKey(
        "ConsentScript", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    consent_recorded_at = models.DateTimeField(null=True, blank=True)
    consent_recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClinicalSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-created_at"]
        verbose_name = "clinical session"
        indexes = [
            models.Index(fields=["practice", "-occurred_at"], name="session_practice_occurred"),
            models.Index(fields=["practice", "clinician", "-occurred_at"], name="session_clinician_occurred"),
            # The API lists sessions newest created first (its cursor pages on created_at).
            models.Index(fields=["practice", "-created_at"], name="session_practice_created"),
            models.Index(fields=["practice", "clinician", "-created_at"], name="session_clinician_created"),
        ]

    def __str__(self) -> str:
        return f"Session {self.id}"

    @property
    def has_consent(self) -> bool:
        """Whether the client agreed to the recording: in-browser recording needs it."""
        return self.consent_status == self.ConsentStatus.GIVEN


class ConsentScriptQuerySet(models.QuerySet["ConsentScript"]):
    def visible_to(self, user: User | AnonymousUser) -> ConsentScriptQuerySet:
        return self.filter(practice_id__in=practice_ids_visible_to(user))

    def current_for(self, practice_id: uuid.UUID | str) -> ConsentScript | None:
        return self.filter(practice_id=practice_id).order_by("-version").first()


class ConsentScript(models.Model):
    """One version of the text a practice's clinicians read or show to a client before recording.

    Versions are never changed: each save of the script is a new row, so a session's consent names exactly
    the words the client was shown.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="consent_scripts")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ConsentScriptQuerySet.as_manager()

    class Meta:
        ordering = ["practice", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "version"], name="consent_script_unique_version"),
        ]

    def __str__(self) -> str:
        return f"Consent script v{self.version}"


def session_storage_prefix(session: ClinicalSession) -> str:
    """Every file of a session (its recording, every artifact of its jobs) is stored under this folder, so
    deleting the session can remove them all without knowing which app wrote them."""
    return f"practices/{session.practice_id}/sessions/{session.pk}/"


def recording_upload_to(instance: Recording, filename: str) -> str:
    # The stored name never contains anything the client sent.
    return f"{session_storage_prefix(instance.session)}recording-{instance.id}{instance.storage_extension}"


class RecordingQuerySet(models.QuerySet["Recording"]):
    def visible_to(self, user: User | AnonymousUser) -> RecordingQuerySet:
        return self.filter(session__in=ClinicalSession.objects.visible_to(user))


class Recording(models.Model):
    """The current audio of a session, validated by decoding before this row exists.

    A replacement is validated and stored first; only then does one transaction swap the rows, and
    the old file is deleted after that transaction commits.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField(ClinicalSession, on_delete=models.CASCADE, related_name="recording")
    file = models.FileField(upload_to=recording_upload_to, max_length=255)
    # Encrypted: people name files after their clients.
    original_filename = EncryptedTextField()
    content_type = models.CharField(max_length=100)
    bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    duration_seconds = models.FloatField()
    codec = models.CharField(max_length=32)
    container = models.CharField(max_length=64)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    has_video = models.BooleanField(default=False)
    # The audio's peak byte rate over a minute, container framing included (sessions.media.ByteRateMeter),
    # measured by the upload's probe so that the pipeline plans its chunks without reading the file again.
    # Empty on recordings stored before it was measured: the pipeline measures those itself.
    peak_bytes_per_second = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the retention purge deleted the audio; the row keeps what the recording was.
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = RecordingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Recording {self.id}"

    @property
    def storage_extension(self) -> str:
        return {
            "matroska,webm": ".webm",
            "webm": ".webm",
            "mp3": ".mp3",
            "flac": ".flac",
            "ogg": ".ogg",
            "wav": ".wav",
            "mov,mp4,m4a,3gp,3g2,mj2": ".mp4",
        }.get(self.container, ".bin")


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_MB) * 1024 * 1024


class TranscriptQuerySet(models.QuerySet["Transcript"]):
    def visible_to(self, user: User | AnonymousUser) -> TranscriptQuerySet:
        return self.filter(session__in=ClinicalSession.objects.visible_to(user))


class Transcript(models.Model):
    """What was said in the session: segments ``[{id, start, end, speaker, text}]`` and the full text."""

    class SpeakerRole(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        CLIENT = "client", "Client"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.OneToOneField(ClinicalSession, on_delete=models.CASCADE, related_name="transcript")
    media_sha256 = models.CharField(max_length=64)
    model = models.CharField(max_length=100)
    language = models.CharField(max_length=16, blank=True)
    text = EncryptedTextField(blank=True)
    segments = EncryptedJSONField(default=list)
    # The provider's speaker labels mapped to who they are, e.g. {"A": "clinician", "B": "client"}: roles only,
    # never names, so not encrypted; nor is the provider's metadata (usage, the run that transcribed).
    speaker_names = models.JSONField(default=dict, blank=True)
    provider_metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["media_sha256", "model"], name="transcript_media_model")]

    def __str__(self) -> str:
        return f"Transcript {self.id}"

    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for segment in self.segments:
            if segment.get("speaker"):
                seen.setdefault(str(segment["speaker"]), None)
        return list(seen)

    def speaker_label(self, speaker: str | None) -> str:
        if not speaker:
            return ""
        role = self.speaker_names.get(speaker)
        return self.SpeakerRole(role).label if role in self.SpeakerRole.values else speaker


class LiveRecording(models.Model):
    """A recording being made in the browser, received part by part (``RecordingPart``).

    It ends when its parts are assembled into the session's ``Recording`` (``completed_at``), by the clinician,
    by the page, or by the dispatcher once no part arrived for ``RECORDING_IDLE_MINUTES``; or when it is
    discarded (the row goes). A completed row refuses further parts until a new recording starts over.
    """

    session = models.OneToOneField(ClinicalSession, on_delete=models.CASCADE, related_name="live_recording")
    started_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    # Any part received, a repeat included: a paused page repeats its last part to say it is still there.
    last_part_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt to assemble the parts failed (a MediaRejected code and message); retried only once
    # a new part arrives.
    completion_error_code = models.CharField(max_length=32, blank=True)
    completion_error = models.TextField(blank=True)
    completion_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "recording in progress"
        verbose_name_plural = "recordings in progress"

    def __str__(self) -> str:
        return f"Recording in progress of session {self.session_id}"


class RecordingPart(models.Model):
    """Part ``n`` (0-based) of a recording made in the browser, as received: the first holds the container's
    header, the later ones continue it. Stored under the session's folder until the parts are assembled."""

    session = models.ForeignKey(ClinicalSession, on_delete=models.CASCADE, related_name="recording_parts")
    n = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255)
    # The recorder's clock at the end of this part, as the page reported it (shown to the clinician only).
    recorded_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "n"]
        constraints = [models.UniqueConstraint(fields=["session", "n"], name="recording_part_unique_n")]

    def __str__(self) -> str:
        return f"Part {self.n} of session {self.session_id}"
