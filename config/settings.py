"""The one settings module. Every value comes from the environment (names in docs/operations.md).

Embedded defaults run everything on a laptop: SQLite in WAL mode and local file storage under
``var/``, django-q2 with the ORM broker. Production sets DATABASE_URL, S3 and secrets; what is
missing or malformed is reported by the system checks in ``config.checks``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF

from config.crypto import DEVELOPMENT_KEY
from config.env import env_bool, env_choice, env_int, env_list, env_str

# Lets generic classes such as admin.ModelAdmin[Model] be subscripted at run time, for the types.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY_IS_DEFAULT = not env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "csp",
    # Sign-in with a second factor (TOTP, recovery codes) and re-authentication: django-allauth; lockout after
    # failed passwords by address and account together: django-axes (docs/security.md).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "config",
    "accounts",
    "formats",
    "sessions.apps.ClinicalSessionsConfig",
    "notes",
    "jobs",
    "billing",
    "integrations",
]

MIDDLEWARE = [
    "config.middleware.RequestIDMiddleware",
    # Under /api/ every error answer is the JSON envelope, whatever produced it and whatever DEBUG says.
    "api.errors.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep their caching and everything else is no-store.
    "config.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # --- Sign-in: session lifetime, login requirement, the second factor ---
    "accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.PracticeTimeZoneMiddleware",
    "accounts.middleware.RequiredMfaMiddleware",
    # After authentication and the practice: records access to PHI routes once the view has answered.
    "accounts.middleware.AuditMiddleware",
    # ---
    "api.errors.NotFoundPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a login refused for lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'sessionscribe.sqlite3'}")
if not env_str("DATABASE_URL"):
    # The embedded database lives in var/, which a fresh checkout does not have yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
_database: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL))
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a worker writes; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    _database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    _database["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Storage ---------------------------------------------------------------------------------

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
# Every object is written encrypted by S3 (server-side encryption): under S3's own keys (AES256), or under a KMS
# key of the account when one is named.
AWS_S3_SSE_KMS_KEY_ID = env_str("AWS_S3_SSE_KMS_KEY_ID")
_s3_encryption: dict[str, str] = (
    {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": AWS_S3_SSE_KMS_KEY_ID}
    if AWS_S3_SSE_KMS_KEY_ID
    else {"ServerSideEncryption": "AES256"}
)
_default_storage: dict[str, Any]
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "config.storage_s3.MeasuredS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 300,
            "object_parameters": _s3_encryption,
        },
    }
    if AWS_S3_SSE_KMS_KEY_ID:
        # Objects encrypted under a KMS key can only be fetched through Signature Version 4 presigned URLs.
        _default_storage["OPTIONS"]["signature_version"] = "s3v4"
else:
    _default_storage = {
        # Writes to a temporary file, fsyncs it and renames it into place: no half-written file is ever seen.
        "BACKEND": "config.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "file_permissions_mode": 0o600},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# --- Uploads ---------------------------------------------------------------------------------

MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 500, minimum=1)
MAX_RECORDING_MINUTES = env_int("MAX_RECORDING_MINUTES", 240, minimum=1)
# Recording in the browser: the largest part the page may send (a part is a few seconds of audio), and how long
# a recording in progress may go without a new part before the dispatcher assembles and processes it.
RECORDING_PART_MAX_MB = env_int("RECORDING_PART_MAX_MB", 10, minimum=1)
RECORDING_IDLE_MINUTES = env_int("RECORDING_IDLE_MINUTES", 30, minimum=1)
# Uploaded files always go to a temporary file on disk, never whole into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
FILE_UPLOAD_PERMISSIONS = 0o600
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Authentication --------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "clinical_sessions:list"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A signed-in session ends after this long without a request, and in any case this long after signing in
# (accounts.middleware.SessionLifetimeMiddleware); the cookie lives no longer than the absolute limit.
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30, minimum=1)
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 3600
PASSWORD_RESET_TIMEOUT = 60 * 60
# A colleague's invitation link works once, for this many days; a practice sends at most so many an hour.
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7, minimum=1)
INVITATION_SENDS_PER_HOUR = env_int("INVITATION_SENDS_PER_HOUR", 20, minimum=1)

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Sessionscribe <no-reply@localhost>")

# --- Sign-in: allauth (second factor, re-authentication), axes (lockout) ----------------------

AUTHENTICATION_BACKENDS = [
    # First: refuses, before any password is checked, an address and account pair that is locked out.
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "accounts.allauth_adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
# Accounts are made by invitation or by the create_practice command; nobody signs up.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = 10 * 60
ACCOUNT_RATE_LIMITS = {
    # Failed passwords are counted by axes, per address and account together, in the database.
    "login_failed": None,
}
# Secrets of the second factors are stored encrypted under FIELD_ENCRYPTION_KEYS (config/mfa_encryption.py).
MFA_ADAPTER = "accounts.allauth_adapter.MFAAdapter"
# Second factors: an authenticator app (TOTP), passkeys and security keys (WebAuthn, through fido2), recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# A passkey that checks a fingerprint, face or PIN itself signs in alone, from the login page.
MFA_PASSKEY_LOGIN_ENABLED = True
# MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN stays off everywhere: it would accept a passkey answer made for any origin.
# Passkeys need HTTPS, or http://localhost (which browsers and fido2 accept as secure) for the demo and the tests.
MFA_FORMS = {
    "add_webauthn": "accounts.mfa_forms.AddPasskeyForm",
    "edit_webauthn": "accounts.mfa_forms.EditPasskeyForm",
}
MFA_TOTP_ISSUER = "Sessionscribe"
MFA_RECOVERY_CODE_COUNT = 10

# A password that fails this many times from one address for one account locks that pair (and only that pair)
# for LOGIN_LOCKOUT_MINUTES; the same account from another address still signs in.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"
AXES_CLIENT_IP_CALLABLE = "config.net.client_address_of"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# Logins are recorded by the audit trail, not by a second table; axes keeps only the failure counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# An API key that fails this often from one address in a minute gets 429 until the minute ends.
API_KEY_FAILURES_PER_IP = env_str("API_KEY_FAILURES_PER_IP", "20/min")

# --- Security --------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS-only settings apply whenever DEBUG is off; the laptop demo runs with DEBUG on plain HTTP.
HTTPS = env_bool("HTTPS", not DEBUG)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The __Host- prefix pins the cookie to this exact host, over HTTPS, on path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# The session page plays the recording; with S3 the audio view redirects to the bucket, which the policy must allow.
_MEDIA_SOURCES = [SELF]
if AWS_STORAGE_BUCKET_NAME:
    _endpoint = urlsplit(env_str("AWS_S3_ENDPOINT_URL"))
    _MEDIA_SOURCES.append(f"{_endpoint.scheme}://{_endpoint.netloc}" if _endpoint.netloc else "https://*.amazonaws.com")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "media-src": _MEDIA_SOURCES,
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Encryption at rest ----------------------------------------------------------------------

# The keys of the encrypted columns (config/crypto.py), newest first: keys of their own, never derived from
# SECRET_KEY. With DEBUG on and none set, a fixed development key; with DEBUG off the system checks demand them.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS") or ([DEVELOPMENT_KEY] if DEBUG else [])

# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.EndpointAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sessionscribe API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Enum values are listed by the schema itself; a generated "* `x` - X" list per field only repeats them.
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
}

# --- AI providers ----------------------------------------------------------------------------

OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL") or None
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL") or None
DRAFTING_PROVIDER = env_choice("DRAFTING_PROVIDER", "anthropic", ("anthropic", "openai"))
_drafting_key = ANTHROPIC_API_KEY if DRAFTING_PROVIDER == "anthropic" else OPENAI_API_KEY
# With DEBUG on (the demo) the mode follows the keys: live when they are there, simulated otherwise. With DEBUG
# off it must be chosen: unset, nothing is processed and the system checks refuse to start (config.checks), so a
# production server never drafts simulated notes by accident. Never a silent switch at run time.
AI_MODE_IS_SET = bool(env_str("AI_MODE"))
_ai_mode_default = ("live" if OPENAI_API_KEY and _drafting_key else "stub") if DEBUG else "off"
AI_MODE = env_choice("AI_MODE", _ai_mode_default, ("live", "stub", "off"))
TRANSCRIPTION_MODEL = env_str("TRANSCRIPTION_MODEL", "whisper-1")
TRANSCRIPTION_CONCURRENCY = env_int("TRANSCRIPTION_CONCURRENCY", 4, minimum=1)
DRAFTING_MODEL = env_str("DRAFTING_MODEL", "claude-sonnet-4-6" if DRAFTING_PROVIDER == "anthropic" else "gpt-4o")

# --- Retention and jobs ----------------------------------------------------------------------

AUDIO_RETENTION_HOURS = env_int("AUDIO_RETENTION_HOURS", 72, minimum=1)
ARTIFACT_TTL_DAYS = env_int("ARTIFACT_TTL_DAYS", 30, minimum=1)
JOBS_RUNNER_TOKEN = env_str("JOBS_RUNNER_TOKEN")
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Audit trail -----------------------------------------------------------------------------

# Audit events are kept six years (HIPAA's retention of documentation), then purged.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 2190, minimum=1)
# How many proxies in front of the web process append to X-Forwarded-For; the address the outermost of them
# saw is the client's. With 0 the connecting address (REMOTE_ADDR) is, and X-Forwarded-For is ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

REDIS_URL = env_str("REDIS_URL")
Q_POLL_MS = env_int("Q_POLL_MS", 100, minimum=10)
Q_CLUSTER: dict[str, Any] = {
    "name": "sessionscribe",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A task may run this long before the cluster kills it: a whole pipeline run, which for hours of audio on a
    # slow self-hosted server takes long. The job's own lease, not this, is what detects a dead worker. Retry is
    # longer so a slow task is never handed to a second worker while the first still runs it.
    "timeout": 6 * 3600,
    "retry": 6 * 3600 + 300,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "recycle": 200,
    "max_rss": 1_000_000,
    "save_limit": 1000,
    # How often an idle cluster asks the database broker for new tasks: the longest a queued job waits to be
    # picked up. A poll is one indexed query. (Redis hands tasks over as they come, without polling.)
    "poll": Q_POLL_MS / 1000,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# allauth's short-lived counters (a TOTP code used once, attempts at a second factor) live in the cache: shared by
# every process through Redis when there is one, per process otherwise (docs/security.md says what that allows).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# --- Billing ---------------------------------------------------------------------------------

# Without STRIPE_SECRET_KEY billing is off (self-hosted mode): no limits, every feature.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Another address for Stripe's API (a loopback fake in tests and the demo).
STRIPE_API_BASE = env_str("STRIPE_API_BASE") or None
# The Stripe price of each plan; a price id set on the plan in the admin takes precedence.
STRIPE_PRICE_BASIC = env_str("STRIPE_PRICE_BASIC")
STRIPE_PRICE_PRO = env_str("STRIPE_PRICE_PRO")
STRIPE_PRICE_PREMIUM = env_str("STRIPE_PRICE_PREMIUM")
# Every new practice starts on a trial: this many days, this many audio minutes, this many members.
TRIAL_DAYS = env_int("TRIAL_DAYS", 14, minimum=0)
TRIAL_MINUTES = env_int("TRIAL_MINUTES", 60, minimum=0)
TRIAL_SEATS = env_int("TRIAL_SEATS", 3, minimum=1)
# A subscription whose payment failed keeps working this many days.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7, minimum=0)
# How far back the scheduled reconciliation asks Stripe for events the webhook may have missed.
STRIPE_RECONCILE_HOURS = env_int("STRIPE_RECONCILE_HOURS", 72, minimum=1)

# --- Localisation and logging ----------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# Dates and times are written one way across the site: config/formats/en/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
# JSON lines (one object per line, with request_id, job_id and practice_id) in web and worker alike; "plain" is
# for reading by eye. Messages name ids, codes and counts, never what a client said or a note says.
LOG_FORMAT = env_choice("LOG_FORMAT", "json", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.log_context.LogContextFilter"}},
    "formatters": {
        "json": {
            "()": "config.log_format.PhiSafeJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
        "plain": {
            "()": "config.log_format.PhiSafePlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-q2 adds a handler of its own to a logger that has none; this one keeps its lines in the format.
        "django-q": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # axes names the account and address of each failure; the lockout itself is what matters.
        "axes": {"level": "WARNING"},
        # The SDKs log request and response bodies at debug level: transcripts and notes.
        "openai": {"level": "WARNING"},
        "anthropic": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- Metrics and error reporting -------------------------------------------------------------

# Prometheus metrics are written by every web and worker process to files in this folder and summed at scrape
# time (prometheus-client's multiprocess mode). It must be set before prometheus_client is first imported, so it
# is set here; production points it at a folder emptied when the service starts (docs/operations.md).
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", PROMETHEUS_MULTIPROC_DIR)
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production" if not DEBUG else "development")
SENTRY_TRACES_SAMPLE_RATE = 0.0
if SENTRY_DSN:
    from config.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)

# --- Pipeline --------------------------------------------------------------------------------

# A running job's lease; the worker's heartbeat renews it every third of this. A job whose lease ran out
# (its worker died) is reclaimed by the dispatcher.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 120, minimum=1)
# Automatic attempts for transient failures, and worker crashes tolerated, before a job fails for good.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 6, minimum=1)
JOB_MAX_CRASHES = env_int("JOB_MAX_CRASHES", 3, minimum=1)
# A queued job nobody claimed for this long lost its task (a broker restart, a crash between commit and
# enqueue) and is sent again by the dispatcher.
JOB_RESEND_AFTER_SECONDS = env_int("JOB_RESEND_AFTER_SECONDS", 900, minimum=1)
# Backoff before attempt n+1 is min(base * 2^(n-1), cap) seconds, or the provider's Retry-After if longer.
JOB_BACKOFF_BASE_SECONDS = env_int("JOB_BACKOFF_BASE_SECONDS", 10, minimum=0)
JOB_BACKOFF_CAP_SECONDS = env_int("JOB_BACKOFF_CAP_SECONDS", 1800, minimum=0)
# Retention of what is not PHI but piles up: job events of finished jobs, django-q2's task results.
JOB_EVENT_RETENTION_DAYS = env_int("JOB_EVENT_RETENTION_DAYS", 90, minimum=1)
TASK_RESULT_RETENTION_DAYS = env_int("TASK_RESULT_RETENTION_DAYS", 7, minimum=1)
# A stored file no row names is deleted by the purge once it is this old (a file is written before its row).
ORPHAN_GRACE_MINUTES = env_int("ORPHAN_GRACE_MINUTES", 60, minimum=1)
PURGE_BATCH_SIZE = 500
# Seconds of overlap between neighbouring transcription chunks.
CHUNK_OVERLAP_SECONDS = 5.0
# A tighter cap on a chunk's length than the model's own, for self-hosted servers with smaller limits.
TRANSCRIPTION_MAX_CHUNK_SECONDS = env_int("TRANSCRIPTION_MAX_CHUNK_SECONDS", 0, minimum=0) or None
# A long recording is cut into as many chunks as TRANSCRIPTION_CONCURRENCY requests can carry at once, but none
# shorter than this: each request costs the provider's fixed latency, and a chunk gives the model its context.
TRANSCRIPTION_MIN_CHUNK_SECONDS = env_int("TRANSCRIPTION_MIN_CHUNK_SECONDS", 120, minimum=1)

# --- API and webhooks ------------------------------------------------------------------------

# Requests per window ("30/min", "500/hour", "5/s", "1000/day"), per API key (or signed-in user) and per
# client address, on job creation (and retry) and on recording uploads. Counted in the database.
API_RATE_JOBS = env_str("API_RATE_JOBS", "30/min")
API_RATE_JOBS_PER_IP = env_str("API_RATE_JOBS_PER_IP", "60/min")
API_RATE_UPLOADS = env_str("API_RATE_UPLOADS", "30/min")
API_RATE_UPLOADS_PER_IP = env_str("API_RATE_UPLOADS_PER_IP", "60/min")
# Parts of recordings made in the browser: one every few seconds per recorder, and bursts when a page that was
# offline sends what it kept.
API_RATE_RECORDING_PARTS = env_str("API_RATE_RECORDING_PARTS", "240/min")
API_RATE_RECORDING_PARTS_PER_IP = env_str("API_RATE_RECORDING_PARTS_PER_IP", "600/min")
# How many proxies in front of the web process append to X-Forwarded-For, for the per-address limits; with 0
# the connecting address is the client's.
API_NUM_PROXIES = env_int("API_NUM_PROXIES", 0, minimum=0)
# A create repeated with the same Idempotency-Key within this time gets the first answer back.
API_IDEMPOTENCY_TTL_HOURS = env_int("API_IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
# How long a repeat waits for the first request with its key to finish before answering 409.
API_IDEMPOTENCY_WAIT_SECONDS = 10
# Lifetime of the signed download links in a job's result.
API_DOWNLOAD_URL_SECONDS = env_int("API_DOWNLOAD_URL_SECONDS", 300, minimum=10)
SPECTACULAR_SETTINGS.update(
    {
        "DESCRIPTION": "Sessions, recordings, pipeline jobs, transcripts and notes of one practice. "
        "Walk-through: docs/api.md.",
        "SCHEMA_PATH_PREFIX": "/api/v1",
        "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
        "SERVE_AUTHENTICATION": [],
        "COMPONENT_SPLIT_REQUEST": True,
        "ENUM_NAME_OVERRIDES": {
            "SessionStatusEnum": "sessions.models.ClinicalSession.Status",
            "ConsentMethodEnum": "sessions.models.ClinicalSession.ConsentMethod",
            "ConsentStatusEnum": "sessions.models.ClinicalSession.ConsentStatus",
        },
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "api.schema.schema_add_common_headers",
        ],
    }
)

# Webhook destinations must resolve to public addresses; true only for development and tests.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Attempts per event before a delivery is given up, with backoff min(30·2^(n-1), 21600) seconds between them.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
