"""Start-up validation of the configuration: every message names the variable to set.

Two tags of our own mark the checks that judge what a running server or worker would do: ``SERVING`` (mail, the AI
providers, Stripe, download links) and ``ENCRYPTION_KEYS`` (the keys of the encrypted columns). ``manage.py check``,
``check --deploy``, ``runserver``, ``qcluster`` and every other command run them, and so does the WSGI/ASGI
application when a server such as gunicorn loads it (``refuse_unsafe_configuration``). The commands that only read
or write the schema skip them (``config.management.schema_commands``): ``makemigrations --check`` needs no
production environment. A check registered under one of these tags must carry no other tag, or those commands would
run it for the other one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register, run_checks
from django.core.exceptions import ImproperlyConfigured

from config import crypto
from config.env import PROBLEMS

SERVING = "sessionscribe_serving"
ENCRYPTION_KEYS = "sessionscribe_encryption_keys"


@register(Tags.compatibility)
def check_environment(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    messages: list[Error | Warning] = [
        Error(message, hint=f"Fix the environment variable {name}.", id="sessionscribe.E001")
        for name, message in PROBLEMS
    ]
    return messages


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Run by ``manage.py check --deploy``, which the production start runs before serving."""
    messages: list[Error] = []
    if getattr(settings, "SECRET_KEY_IS_DEFAULT", False):
        messages.append(
            Error(
                "SECRET_KEY is not set.",
                hint="Set SECRET_KEY to a long random string, e.g. the output of "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="sessionscribe.E002",
            )
        )
    if not settings.ALLOWED_HOSTS:
        messages.append(
            Error(
                "ALLOWED_HOSTS is empty, so every request would be refused.",
                hint="Set ALLOWED_HOSTS to the host names this server answers to, separated by commas.",
                id="sessionscribe.E003",
            )
        )
    return messages


@register(SERVING)
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    messages: list[Error] = []
    if settings.AI_MODE == "live":
        if not settings.OPENAI_API_KEY:
            messages.append(
                Error(
                    "AI_MODE is live but no transcription key is set.",
                    hint="Set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), or AI_MODE=stub.",
                    id="sessionscribe.E004",
                )
            )
        drafting_key = "ANTHROPIC_API_KEY" if settings.DRAFTING_PROVIDER == "anthropic" else "OPENAI_API_KEY"
        if not getattr(settings, drafting_key):
            messages.append(
                Error(
                    f"AI_MODE is live but {drafting_key} is not set "
                    f"for DRAFTING_PROVIDER={settings.DRAFTING_PROVIDER}.",
                    hint=f"Set {drafting_key}, or AI_MODE=stub.",
                    id="sessionscribe.E005",
                )
            )
    if bool(settings.STRIPE_SECRET_KEY) and not settings.STRIPE_WEBHOOK_SECRET:
        messages.append(
            Error(
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not, so Stripe events cannot be verified.",
                hint="Set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_…).",
                id="sessionscribe.E006",
            )
        )
    return messages


# Signed download links are bearer secrets that end up in access logs and browser histories: short-lived.
MAX_DOWNLOAD_URL_SECONDS = 15 * 60

# Mail backends that write messages where they are read by whoever reads the logs or the disk: a password-reset or
# invitation link there opens an account.
_UNSAFE_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": "writes every email, password-reset links included, to the log",
    "django.core.mail.backends.filebased.EmailBackend": "writes every email, password-reset links included, to disk",
}


@register(SERVING)
def check_production_choices(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """With DEBUG off (production), what the demo chooses for itself must be chosen explicitly."""
    if settings.DEBUG:
        return []
    messages: list[Error] = []
    if not getattr(settings, "AI_MODE_IS_SET", True):
        messages.append(
            Error(
                "AI_MODE is not set, so nothing would be transcribed or drafted.",
                hint="Set AI_MODE=live (with the providers' keys), or AI_MODE=stub for a demonstration server whose "
                "every page says the notes are simulated, or AI_MODE=off.",
                id="sessionscribe.E007",
            )
        )
    unsafe = _UNSAFE_MAIL_BACKENDS.get(settings.EMAIL_BACKEND)
    if unsafe:
        messages.append(
            Error(
                f"Mail goes to {settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} backend, which {unsafe}.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD) to a real mail server.",
                id="sessionscribe.E008",
            )
        )
    if settings.API_DOWNLOAD_URL_SECONDS > MAX_DOWNLOAD_URL_SECONDS:
        messages.append(
            Error(
                f"API_DOWNLOAD_URL_SECONDS is {settings.API_DOWNLOAD_URL_SECONDS}: signed download links would open "
                f"PHI for longer than {MAX_DOWNLOAD_URL_SECONDS // 60} minutes to whoever sees the link.",
                hint=f"Set API_DOWNLOAD_URL_SECONDS to at most {MAX_DOWNLOAD_URL_SECONDS}.",
                id="sessionscribe.E009",
            )
        )
    return messages


@register(ENCRYPTION_KEYS)
def check_field_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """The PHI columns are encrypted under FIELD_ENCRYPTION_KEYS: without usable keys nothing may start."""
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    make_one = f"Make a key with: {crypto.MAKE_A_KEY}"
    messages = [
        Error(
            problem,
            hint=f"Each key is 32 random bytes in urlsafe base64 (a Fernet key), newest first, separated by commas. "
            f"{make_one}",
            id="sessionscribe.E020",
        )
        for problem in crypto.key_problems(keys)
    ]
    if not keys:
        messages.append(
            Error(
                "FIELD_ENCRYPTION_KEYS is not set, so transcripts and notes cannot be stored encrypted.",
                hint=f"{make_one} and set FIELD_ENCRYPTION_KEYS to it. Keep it apart from the database backups: "
                "without it they cannot be read.",
                id="sessionscribe.E021",
            )
        )
    elif crypto.DEVELOPMENT_KEY in keys and not settings.DEBUG:
        messages.append(
            Error(
                "FIELD_ENCRYPTION_KEYS holds the development key, which is published with the code.",
                hint=f"{make_one}, put it first in FIELD_ENCRYPTION_KEYS and run manage.py reencrypt_fields; "
                "then remove the development key.",
                id="sessionscribe.E022",
            )
        )
    return messages


def refuse_unsafe_configuration() -> None:
    """What ``runserver`` and ``qcluster`` refuse, refused when a WSGI or ASGI server loads the application: gunicorn
    runs no system checks, so without this a production web process would serve with mail going to the log or no
    encryption keys. Only the configuration checks run (a few milliseconds); ImproperlyConfigured stops the worker
    from booting, and gunicorn then exits."""
    messages: list[CheckMessage] = run_checks(tags=[Tags.compatibility, SERVING, ENCRYPTION_KEYS])
    errors = [message for message in messages if message.is_serious() and not message.is_silenced()]
    if errors:
        raise ImproperlyConfigured(
            "The configuration is refused (manage.py check says the same):\n"
            + "\n".join(str(error) for error in errors)
        )
