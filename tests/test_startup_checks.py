"""Which processes the configuration checks stop. The schema commands run in a bare environment (DEBUG off, nothing
set), so ``makemigrations --check`` needs no production secrets; the web server (runserver, and gunicorn loading the
WSGI application), the worker (qcluster) and ``manage.py check`` still refuse mail to the console, an unset AI_MODE
and missing encryption keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Production as the operator sets it, but for what each test leaves out.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Gq-2vP9sLwT4mZ8rN1cB6yH3jK5dF0aE_uQ-iO9pR2tS4vW6xY8zA1bC3dE5fG",
    "ALLOWED_HOSTS": "scribe.example.org",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "AI_MODE": "off",
    "EMAIL_HOST": "smtp.example.org",
}
# What the production start would be refused for: no AI_MODE and no mail server.
UNCHOSEN = {k: v for k, v in PRODUCTION.items() if k not in {"AI_MODE", "EMAIL_HOST"}}


def _run(tmp_path: Path, *args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``args`` in a fresh process whose environment holds nothing but ``env`` (as ``env -i`` would)."""
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "VAR_DIR": str(tmp_path / "var")}
    return subprocess.run(
        [str(arg) for arg in args],
        check=False,
        cwd=ROOT,
        env={**bare, **env},
        capture_output=True,
        text=True,
        timeout=90,
    )


def _manage(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(tmp_path, sys.executable, "manage.py", *args, env=env)


def _refused_for_mail_and_ai_mode(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "sessionscribe.E007" in output, output[-3000:]
    assert "AI_MODE is not set" in output
    assert "sessionscribe.E008" in output
    assert "password-reset links" in output


# --- The schema commands ----------------------------------------------------------------------------------------


def test_makemigrations_check_runs_with_no_environment_at_all(tmp_path):
    result = _manage(tmp_path, "makemigrations", "--check", "--dry-run", env={})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "No changes detected" in result.stdout


@pytest.mark.parametrize("command", [["showmigrations"], ["sqlmigrate", "accounts", "0001"]])
def test_the_commands_that_read_the_schema_run_with_no_environment(tmp_path, command):
    result = _manage(tmp_path, *command, env={})
    assert result.returncode == 0, result.stderr[-3000:]


def test_migrate_skips_the_servers_checks_but_not_the_keys_its_data_migrations_encrypt_with(tmp_path):
    without_keys = _manage(tmp_path, "migrate", "--plan", env={})
    assert without_keys.returncode != 0
    assert "sessionscribe.E021" in without_keys.stderr
    assert "sessionscribe.E007" not in without_keys.stderr
    assert "sessionscribe.E008" not in without_keys.stderr

    key = {"FIELD_ENCRYPTION_KEYS": PRODUCTION["FIELD_ENCRYPTION_KEYS"]}
    with_a_key = _manage(tmp_path, "migrate", "--plan", env=key)
    assert with_a_key.returncode == 0, with_a_key.stderr[-3000:]
    assert "Planned operations" in with_a_key.stdout


def test_a_malformed_variable_still_stops_the_schema_commands(tmp_path):
    result = _manage(tmp_path, "makemigrations", "--check", "--dry-run", env={"MAX_UPLOAD_MB": "lots"})
    assert result.returncode != 0
    assert "MAX_UPLOAD_MB" in result.stderr


# --- The processes that serve and work ---------------------------------------------------------------------------


def test_manage_py_check_refuses_a_bare_environment(tmp_path):
    result = _manage(tmp_path, "check", env={})
    _refused_for_mail_and_ai_mode(result)
    assert "sessionscribe.E021" in result.stderr


def test_runserver_refuses_to_start_without_a_mail_server_or_an_ai_mode(tmp_path):
    result = _manage(tmp_path, "runserver", "--noreload", "127.0.0.1:0", env=UNCHOSEN)
    _refused_for_mail_and_ai_mode(result)


def test_the_worker_refuses_to_start_without_a_mail_server_or_an_ai_mode(tmp_path):
    result = _manage(tmp_path, "qcluster", env=UNCHOSEN)
    _refused_for_mail_and_ai_mode(result)


def test_gunicorn_refuses_to_boot_the_application_without_a_mail_server_or_an_ai_mode(tmp_path):
    result = _run(tmp_path, BIN / "gunicorn", "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1", env=UNCHOSEN)
    _refused_for_mail_and_ai_mode(result)
    assert "Worker failed to boot" in result.stderr


@pytest.mark.parametrize("entry_point", ["config.wsgi", "config.asgi"])
def test_the_application_loads_when_production_has_chosen_everything(tmp_path, entry_point):
    result = _run(tmp_path, sys.executable, "-c", f"import {entry_point}; print('loaded')", env=PRODUCTION)
    assert result.stdout.strip() == "loaded", result.stderr[-3000:]


@pytest.mark.parametrize("entry_point", ["config.wsgi", "config.asgi"])
def test_the_application_refuses_to_load_without_encryption_keys(tmp_path, entry_point):
    env = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEYS"}
    result = _run(tmp_path, sys.executable, "-c", f"import {entry_point}", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr
