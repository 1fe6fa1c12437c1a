"""The keys of the encrypted columns and S3's own encryption, as configured from the environment: a server with
DEBUG off refuses to start without usable keys, saying how to make one; the laptop demo needs none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config import crypto
from config.checks import check_field_encryption_keys

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Gq-2vP9sLwT4mZ8rN1cB6yH3jK5dF0aE_uQ-iO9pR2tS4vW6xY8zA1bC3dE5fG",
    "ALLOWED_HOSTS": "scribe.example.org",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    # What else production must choose, so that the keys are the only thing these tests vary.
    "AI_MODE": "off",
    "EMAIL_HOST": "smtp.example.org",
}


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python`` with ``args`` in a fresh process configured from the environment alone."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "AI_", "OPENAI_", "ANTHROPIC_", "AWS_", "FIELD_ENCRYPTION_"))
    }
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args],
        check=False,
        cwd=ROOT,
        env={**clean, "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_a_production_server_without_keys_refuses_to_start_and_says_how_to_make_one(tmp_path):
    result = _run(tmp_path, "manage.py", "check", **PRODUCTION)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr
    assert "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" in result.stderr


def test_a_production_server_with_a_key_starts(tmp_path):
    result = _run(tmp_path, "manage.py", "check", FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(), **PRODUCTION)

    assert result.returncode == 0, result.stderr


def test_the_demo_with_debug_on_uses_the_development_key(tmp_path):
    code = "import django; django.setup(); from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS)"
    result = _run(tmp_path, "-c", code, **{**PRODUCTION, "DEBUG": "true"})

    assert result.stdout.strip() == repr([crypto.DEVELOPMENT_KEY]), result.stderr


def test_without_debug_no_key_is_an_error(settings):
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = []

    assert _ids(check_field_encryption_keys()) == ["sessionscribe.E021"]


@pytest.mark.parametrize(
    "malformed",
    ["not-a-key", Fernet.generate_key().decode()[:-4], "A" * 44, "YWJj"],
    ids=["not base64", "truncated", "wrong length", "too short"],
)
def test_a_malformed_key_is_refused_by_its_position_without_showing_it(settings, malformed):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), malformed]

    messages = check_field_encryption_keys()

    assert _ids(messages) == ["sessionscribe.E020"]
    assert "Key 2 of 2" in messages[0].msg
    assert malformed not in messages[0].msg + (messages[0].hint or "")


def test_the_development_key_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), crypto.DEVELOPMENT_KEY]

    messages = check_field_encryption_keys()

    assert _ids(messages) == ["sessionscribe.E022"]
    assert "reencrypt_fields" in (messages[0].hint or "")


def test_good_keys_pass(settings):
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]

    assert check_field_encryption_keys() == []


STORAGE_OPTIONS = (
    "import django; django.setup(); from django.conf import settings; "
    "o = settings.STORAGES['default']['OPTIONS']; print(o['object_parameters'], o.get('signature_version'))"
)


def test_s3_objects_are_written_with_server_side_encryption(tmp_path):
    env = {**PRODUCTION, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "AWS_STORAGE_BUCKET_NAME": "b"}

    result = _run(tmp_path, "-c", STORAGE_OPTIONS, **env)

    assert result.stdout.strip() == "{'ServerSideEncryption': 'AES256'} None", result.stderr


def test_s3_objects_are_encrypted_under_the_kms_key_when_one_is_named(tmp_path):
    env = {
        **PRODUCTION,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AWS_STORAGE_BUCKET_NAME": "b",
        "AWS_S3_SSE_KMS_KEY_ID": "arn:aws:kms:eu-west-1:111122223333:key/abcd",
    }

    result = _run(tmp_path, "-c", STORAGE_OPTIONS, **env)

    assert result.stdout.strip() == (
        "{'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': 'arn:aws:kms:eu-west-1:111122223333:key/abcd'} s3v4"
    ), result.stderr
