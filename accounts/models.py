"""Users (email login), practices (the tenant), memberships (roles), API keys and the audit trail."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
import uuid
import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import AnonymousUser, PermissionsMixin
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from config.encrypted_fields import EncryptedJSONField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the admin site.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of every signed-in session's check, beside the password: changing it (when the account's second
    # factors change) ends every session of the account but the one that changed it.
    # A default in the table too, so that rows written by code that predates the column still insert.
    session_stamp = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Without a stamp the hash is Django's own, so sessions made before the stamp existed stay valid.
        if not self.session_stamp:
            return str(super()._get_session_auth_hash(secret=secret))  # type: ignore[misc]
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_stamp}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def rotate_session_stamp(self) -> None:
        """End every other session of this account (the caller keeps its own with update_session_auth_hash)."""
        self.session_stamp = secrets.token_hex(16)
        User.objects.filter(pk=self.pk).update(session_stamp=self.session_stamp)


def validate_time_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name; use one like Europe/London or America/New_York.")


# The bounds of the retention a practice may choose (accounts/retention_views.py).
AUDIO_KEEP_DAYS_MAX = 90
ARTIFACT_TTL_DAYS_MAX = 365


class Practice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        # A default in the table too, so that rows written by code that predates the column still insert.
        db_default="",
        validators=[validate_time_zone],
        help_text="The IANA name of the practice's time zone, e.g. Europe/London; empty for the server's.",
    )
    require_consent_before_processing = models.BooleanField(
        default=False,
        help_text="Refuse to transcribe or draft a session until the client's consent is recorded as given.",
    )
    require_mfa = models.BooleanField(
        "require two-factor authentication",
        default=False,
        db_default=False,
        help_text="Members without a second factor are sent to set one up before they can do anything else.",
    )
    # Retention the practice chose; empty (NULL, also what rows written by older code get) is the server's setting.
    audio_retention_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(AUDIO_KEEP_DAYS_MAX)],
        help_text="Days a recording's audio is kept for playback once its note is drafted; "
        "empty: deleted AUDIO_RETENTION_HOURS after (the server's setting).",
    )
    artifact_ttl_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(ARTIFACT_TTL_DAYS_MAX)],
        help_text="Days exports and intermediate files are kept; empty: ARTIFACT_TTL_DAYS (the server's setting).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The practice's time zone, or the server's when it has not chosen one."""
        return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)

    @property
    def audio_retention(self) -> dt.timedelta:
        """How long a recording's audio is kept once its note is drafted."""
        if self.audio_retention_days is not None:
            return dt.timedelta(days=self.audio_retention_days)
        return dt.timedelta(hours=settings.AUDIO_RETENTION_HOURS)

    @property
    def artifact_ttl(self) -> dt.timedelta:
        """How long exports and intermediate files are kept once made."""
        return dt.timedelta(days=self.artifact_ttl_days or settings.ARTIFACT_TTL_DAYS)

    @staticmethod
    def unique_slug_for(name: str) -> str:
        base = slugify(name)[:60] or "practice"
        slug = base
        while Practice.objects.filter(slug=slug).exists():
            slug = f"{base}-{secrets.token_hex(3)}"
        return slug


class MembershipQuerySet(models.QuerySet["Membership"]):
    def visible_to(self, user: User | AnonymousUser) -> MembershipQuerySet:
        """A practice's members are managed by its owners and admins; clinicians manage none."""
        from accounts.tenancy import practice_ids_seen_whole_by  # the tenancy module builds on these models

        return self.filter(practice_id__in=practice_ids_seen_whole_by(user))


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        CLINICIAN = "clinician", "Clinician"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLINICIAN)
    # The key of a note format (formats.catalogue); checked there, since accounts knows no formats.
    default_note_type = models.CharField(
        max_length=64,
        blank=True,
        help_text="The format this member's new sessions start with; empty for the practice's usual one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "practice"], name="membership_unique_user_practice"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.practice}"

    @property
    def sees_whole_practice(self) -> bool:
        """Owners and admins see every session of the practice; clinicians see their own."""
        return self.role in {self.Role.OWNER, self.Role.ADMIN}


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)

    def visible_to(self, user: User | AnonymousUser) -> ApiKeyQuerySet:
        """Keys are managed by their practice's owners and admins; clinicians see none."""
        from accounts.tenancy import practice_ids_seen_whole_by  # the tenancy module builds on these models

        return self.filter(practice_id__in=practice_ids_seen_whole_by(user))


class ApiKey(models.Model):
    """A practice's key for the integrator API. Only a prefix and a hash are stored."""

    PREFIX = "ssk"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the key, shown in lists.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(raw_key: str) -> str:
        # The key is 256 bits of randomness, so a fast hash is enough; no salt or stretching needed.
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, practice: Practice, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
        """Create a key and return it with the raw secret, which is shown once and never stored."""
        prefix = secrets.token_hex(4)
        raw_key = f"{cls.PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            practice=practice, name=name, prefix=prefix, key_hash=cls.hash_secret(raw_key), created_by=created_by
        )
        return key, raw_key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> bool:
        """Revoke the key; False when it already was. Requests with it are refused from now on."""
        now = timezone.now()
        revoked = ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now)
        if revoked:
            self.revoked_at = now
        return bool(revoked)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def visible_to(self, user: User | AnonymousUser) -> InvitationQuerySet:
        """Invitations are sent and managed by the practice's owners and admins."""
        from accounts.tenancy import practice_ids_seen_whole_by  # the tenancy module builds on these models

        return self.filter(practice_id__in=practice_ids_seen_whole_by(user))

    def open(self) -> InvitationQuerySet:
        """Neither accepted nor revoked (pending, or expired and so resendable)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An invitation to join a practice with a role, sent by email.

    The link carries a signed random token; only its SHA-256 is stored, so the table alone opens nothing. The
    link works once, until ``expires_at``; resending replaces the token, so an older link stops working.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    SIGNING_SALT = "accounts.invitation"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    send_count = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and practice: a second one is a resend.
            models.UniqueConstraint(
                fields=["practice", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.practice_id} as {self.role}"

    @staticmethod
    def hash_token(raw_token: str) -> str:
        # 256 random bits: a fast hash is enough.
        return hashlib.sha256(raw_token.encode()).hexdigest()

    @classmethod
    def new_token(cls) -> tuple[str, str]:
        """A fresh (link token, hash to store). The link token is the random token, signed."""
        raw = secrets.token_urlsafe(32)
        return signing.Signer(salt=cls.SIGNING_SALT, sep=".").sign(raw), cls.hash_token(raw)

    @classmethod
    def from_link_token(cls, link_token: str) -> Invitation | None:
        """The invitation a link names; None for a link that was not issued here (checked before any query)."""
        try:
            raw = signing.Signer(salt=cls.SIGNING_SALT, sep=".").unsign(link_token)
        except signing.BadSignature:
            return None
        return cls.objects.select_related("practice", "invited_by").filter(token_hash=cls.hash_token(raw)).first()

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    def get_status_display(self) -> str:
        return str(self.Status(self.status).label)


class IdempotencyRecord(models.Model):
    """The first answer to an API create sent with an ``Idempotency-Key``, replayed when the client repeats it.

    ``scope`` names the caller (``key:<api key id>`` or ``user:<user id>``), so two callers never share keys.
    ``status_code`` is empty while the first request is still running.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Encrypted: an answer can carry a transcript, a note or a client label.
    response_body = EncryptedJSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key")]

    def __str__(self) -> str:
        return f"Idempotency key {self.key[:16]} of {self.scope}"

    @property
    def is_complete(self) -> bool:
        return self.status_code is not None


class RateLimitCounter(models.Model):
    """Requests counted in one fixed window, per limited action and caller: the quota lives in the database,
    so it holds across processes and restarts."""

    scope = models.CharField(max_length=40, help_text="The limited action, e.g. 'jobs' or 'uploads'.")
    identity = models.CharField(max_length=100, help_text="Who is counted: an API key, a user or an IP address.")
    window_start = models.BigIntegerField(help_text="Start of the window, in seconds since the epoch.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "identity", "window_start"], name="ratelimit_unique_window")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.identity} @ {self.window_start}: {self.count}"


class AuditTrailIsAppendOnly(Exception):
    """Raised by any attempt of the application to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user: User | AnonymousUser) -> AuditEventQuerySet:
        """A practice's audit trail is read by its owners and admins."""
        from accounts.tenancy import practice_ids_seen_whole_by  # the tenancy module builds on these models

        return self.filter(practice_id__in=practice_ids_seen_whole_by(user))

    def about(self, object_type: str, object_id: str) -> AuditEventQuerySet:
        """Events about one object. For a session, also those about what belongs to it (its note, recording,
        transcript, runs): "who opened this session"."""
        same = models.Q(object_type=object_type, object_id=object_id)
        if object_type == AuditEvent.ObjectType.SESSION:
            with contextlib.suppress(ValueError):
                same |= models.Q(session_id=uuid.UUID(object_id))
        return self.filter(same)

    def by_actor(self, actor_id: uuid.UUID) -> AuditEventQuerySet:
        """Events of one member (their user id) or one API key (its id)."""
        return self.filter(models.Q(actor_user_id=actor_id) | models.Q(actor_api_key_id=actor_id))

    def update(self, **kwargs: Any) -> int:
        raise AuditTrailIsAppendOnly("Audit events are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly("Audit events are deleted only by the retention purge, once past retention.")


class AuditEvent(models.Model):
    """One access to PHI or one security event: who, what, which object, where from, and how it ended.

    Never the PHI itself: objects are named by type and id, the actor by id and account email (or API key
    prefix). Rows are written once (``accounts.audit.audit_record``) and never changed; only the retention
    purge deletes them, after ``AUDIT_RETENTION_DAYS``.

    Practice, user and key are plain ids, not foreign keys: an event outlives the user, key or practice it
    names, and deleting those must neither cascade to the trail nor be blocked by it.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        LIST = "list", "Listed"
        CREATE = "create", "Created"
        EDIT = "edit", "Edited"
        DELETE = "delete", "Deleted"
        UPLOAD = "upload", "Uploaded audio"
        LISTEN = "listen", "Listened to the audio"
        EXPORT = "export", "Exported"
        DOWNLOAD = "download", "Downloaded"
        SIGN = "sign", "Signed"
        ADDENDUM = "addendum", "Added an addendum"
        PROCESS = "process", "Started processing"
        SENT_TO_TRANSCRIPTION = "sent_to_transcription", "Sent to transcription"
        SENT_TO_DRAFTING = "sent_to_drafting", "Sent to drafting"
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login_failed", "Failed to log in"
        LOGOUT = "logout", "Logged out"
        MFA_CHANGE = "mfa_change", "Changed two-factor authentication"
        KEY_CREATED = "key_created", "Created an API key"
        KEY_REVOKED = "key_revoked", "Revoked an API key"
        MEMBER_INVITED = "member_invited", "Invited a member"
        MEMBER_JOINED = "member_joined", "Joined the practice"
        MEMBER_REMOVED = "member_removed", "Removed a member"
        ROLE_CHANGED = "role_changed", "Changed a member's role"
        RETENTION_CHANGED = "retention_changed", "Changed the retention"
        STAFF_PHI_REVEAL = "staff_phi_reveal", "Staff revealed text"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        NOT_FOUND = "not_found", "Not found"
        ERROR = "error", "Error"

    class ObjectType(models.TextChoices):
        SESSION = "session", "Session"
        NOTE = "note", "Note"
        RECORDING = "recording", "Recording"
        TRANSCRIPT = "transcript", "Transcript"
        JOB = "job", "Processing run"
        ARTIFACT = "artifact", "Result file"
        USER = "user", "User"
        MEMBERSHIP = "membership", "Membership"
        INVITATION = "invitation", "Invitation"
        API_KEY = "api_key", "API key"
        PRACTICE = "practice", "Practice"

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    # The practice whose trail holds the event: the caller's (a member's practice, an API key's), never taken
    # from the object asked for, so an attempt on another practice's object tells nothing about it.
    practice_id = models.UUIDField(null=True, blank=True)
    actor_user_id = models.UUIDField(null=True, blank=True)
    actor_api_key_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="The account's email, an API key's prefix, or “system”, at the time."
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    object_type = models.CharField(max_length=20, choices=ObjectType.choices, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # The clinical session the object belongs to, when it belongs to one and the caller could see it.
    session_id = models.UUIDField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True, help_text="The client's address (trusted hop).")
    request_id = models.CharField(max_length=128, blank=True)
    detail = models.CharField(
        max_length=500, blank=True, help_text="Context that is not PHI: a role change, a provider, staff's reason."
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["practice_id", "id"], name="audit_practice_id"),
            models.Index(fields=["practice_id", "object_type", "object_id"], name="audit_practice_object"),
            models.Index(fields=["practice_id", "actor_user_id"], name="audit_practice_user"),
            models.Index(fields=["session_id"], name="audit_session"),
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id} ({self.outcome})".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailIsAppendOnly("Audit events are never changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailIsAppendOnly("Audit events are deleted only by the retention purge, once past retention.")

    @property
    def actor_kind(self) -> str:
        if self.actor_api_key_id is not None:
            return "api_key"
        if self.actor_user_id is not None:
            return "user"
        return "system"
