"""The settings module as production starts it: in a fresh process, from the environment alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Gq-2vP9sLwT4mZ8rN1cB6yH3jK5dF0aE_uQ-iO9pR2tS4vW6xY8zA1bC3dE5fG",
    "ALLOWED_HOSTS": "scribe.example.org",
    "FIELD_ENCRYPTION_KEYS": "Yk1gkG0pCh5NxAE2xf1uE9_EVqKdSxR6bx6vqUj5Xx0=",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "AI_MODE": "stub",
    "EMAIL_HOST": "smtp.example.org",
    "METRICS_TOKEN": "m3tr1cs-t0ken-for-the-scraper",
}


def _check(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AI_", "OPENAI_", "ANTHROPIC_"))}
    clean.pop("DATABASE_URL", None)
    clean.update({"VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        check=False,
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _python(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh process configured as production from the environment alone."""
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env={**clean, **PRODUCTION, "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deploy_check_with_no_warnings(tmp_path):
    result = _check(tmp_path, "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_deploy_check_names_the_missing_secret_key(tmp_path):
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = _check(tmp_path, "--deploy", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_deploy_check_names_missing_allowed_hosts(tmp_path):
    env = {**PRODUCTION, "ALLOWED_HOSTS": ""}
    result = _check(tmp_path, "--deploy", **env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AI_MODE", "sometimes"), ("MAX_UPLOAD_MB", "lots"), ("DEBUG", "perhaps"), ("DRAFTING_PROVIDER", "oracle")],
)
def test_a_malformed_variable_is_reported_by_name(tmp_path, variable, value):
    result = _check(tmp_path, **{**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_live_ai_mode_without_keys_says_which_key_to_set(tmp_path):
    result = _check(tmp_path, **{**PRODUCTION, "AI_MODE": "live"})
    assert result.returncode != 0
    assert "OPENAI_API_KEY" in result.stderr
    assert "ANTHROPIC_API_KEY" in result.stderr


def test_production_cookies_are_host_prefixed_and_secure(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.DATABASES['default']['OPTIONS'].get('transaction_mode'))"
    )
    result = _python(tmp_path, code)
    assert result.stdout.split() == ["__Host-sessionid", "__Host-csrftoken", "True", "True", "31536000", "IMMEDIATE"]


def test_the_default_sqlite_database_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]); "
        "c.execute('PRAGMA busy_timeout'); print(c.fetchone()[0])"
    )
    result = _python(tmp_path, code)
    assert result.stdout.split() == ["wal", "20000"], result.stderr


def test_a_fresh_checkout_gets_its_var_folder_for_the_embedded_database(tmp_path):
    var = tmp_path / "not-yet" / "var"
    code = "import django; django.setup(); from django.db import connection; connection.cursor(); print('ok')"
    result = _python(tmp_path, code, VAR_DIR=str(var))
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
    assert (var / "sessionscribe.sqlite3").exists()


def test_with_debug_off_an_unset_ai_mode_is_refused_and_nothing_is_processed(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "AI_MODE"}
    result = _check(tmp_path, **env)
    assert result.returncode != 0
    assert "AI_MODE is not set" in result.stderr
    code = "import django; django.setup(); from django.conf import settings as s; print(s.AI_MODE)"
    assert _python(tmp_path, code, AI_MODE="").stdout.strip() == "off"


def test_with_debug_off_without_a_mail_server_the_console_backend_is_refused(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_HOST"}
    result = _check(tmp_path, "--deploy", **env)
    assert result.returncode != 0
    assert "password-reset links" in result.stderr
    assert "EMAIL_HOST" in result.stderr


def test_long_lived_download_links_are_refused_in_production(tmp_path):
    result = _check(tmp_path, **{**PRODUCTION, "API_DOWNLOAD_URL_SECONDS": "3600"})
    assert result.returncode != 0
    assert "API_DOWNLOAD_URL_SECONDS" in result.stderr


def test_the_demo_without_keys_runs_simulated_notes_and_prints_mail(tmp_path):
    env = {"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = _check(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    code = "import django; django.setup(); from django.conf import settings as s; print(s.AI_MODE, s.EMAIL_BACKEND)"
    demo = _python(tmp_path, code, DEBUG="true", AI_MODE="", EMAIL_HOST="", OPENAI_API_KEY="", ANTHROPIC_API_KEY="")
    assert demo.stdout.split() == ["stub", "django.core.mail.backends.console.EmailBackend"]
