"""The deployment files (Dockerfile, compose.yaml, docs/deploy.md) agree with the application: every variable they
give it is one config.settings reads, by its real name; the services a deployment needs are there with health
checks; the worker runs qcluster, the web tier gunicorn, and the database is migrated before either starts.
Read as text: no Docker needed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("migrate", "web", "worker")
# Read by the processes around the application rather than by config.settings: the settings module's own name,
# Python's, and gunicorn's number of workers.
PROCESS_VARIABLES = {"DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "WEB_CONCURRENCY"}
PIP_VARIABLES = {"PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}
# The deployment's own knobs in .env, for the services around the application (compose.yaml, docs/deploy.md).
DEPLOYMENT_VARIABLES = {
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "MINIO_KMS_SECRET_KEY",
    "STORAGE_NONCURRENT_DAYS",
    "SESSIONSCRIBE_VERSION",
}


def settings_variables() -> set[str]:
    """Every environment variable config.settings reads (through config.env's typed readers)."""
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|list|choice)\(\s*"([A-Z][A-Z0-9_]*)"', source))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _command(value: Any) -> str:
    return value if isinstance(value, str) else " ".join(str(part) for part in value)


def _dockerfile_env(dockerfile: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in dockerfile:
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_the_settings_module_reads_the_variables_the_design_names():
    names = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "AWS_STORAGE_BUCKET_NAME", "REDIS_URL", "FIELD_ENCRYPTION_KEYS"} <= names


def test_compose_has_every_service_a_deployment_needs(compose):
    assert {"web", "worker", "db", "redis", "storage", "storage-init", "migrate"} <= set(compose["services"])


def test_every_variable_compose_gives_the_application_is_a_setting_by_its_real_name(compose):
    known = settings_variables() | PROCESS_VARIABLES
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert isinstance(environment, dict), f"{name}: environment as a mapping, NAME: value"
        assert set(environment) - known == set(), f"{name} sets variables config.settings does not read"
        for variable, value in environment.items():
            # A value taken from .env comes under the same name, or from a deployment variable (the database's
            # password in DATABASE_URL).
            for source in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", str(value)):
                assert source in {variable} | DEPLOYMENT_VARIABLES, f"{name}: {variable} is read from .env as {source}"


def test_the_application_gets_what_production_requires(compose):
    environment = compose["services"]["web"]["environment"]
    for required in (
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "AWS_STORAGE_BUCKET_NAME",
        "AWS_S3_ENDPOINT_URL",
        "AI_MODE",
        "EMAIL_HOST",
    ):
        assert environment.get(required), required
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@db:" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:")
    # Behind the TLS-terminating proxy: the scheme and client address come from it.
    assert environment["TRUST_X_FORWARDED_PROTO"] == "true"
    assert environment["TRUSTED_PROXY_COUNT"] == environment["API_NUM_PROXIES"] == "1"


def test_web_and_worker_run_one_image_with_the_same_settings(compose):
    web, worker, migrate = (compose["services"][name] for name in ("web", "worker", "migrate"))
    assert web["image"] == worker["image"] == migrate["image"]
    shared = {key: value for key, value in web["environment"].items() if key != "WEB_CONCURRENCY"}
    assert shared == worker["environment"] == migrate["environment"]


def test_every_long_running_service_has_a_health_check(compose):
    for name in ("web", "worker", "db", "redis", "storage"):
        test = compose["services"][name].get("healthcheck", {}).get("test")
        assert test, f"{name} has no health check"
        assert test[0] in {"CMD", "CMD-SHELL"}


def test_the_web_health_check_asks_a_probe_the_application_serves(compose):
    probe = _command(compose["services"]["web"]["healthcheck"]["test"])
    paths = re.findall(r"http://127\.0\.0\.1:8000(/[a-z]+)", probe)
    assert paths == ["/readyz"]
    for path in paths:
        try:
            assert resolve(path).url_name in {"healthz", "readyz"}
        except Resolver404:  # pragma: no cover - reported as a failure
            pytest.fail(f"{path} is not a route of the application")
    # With HTTPS on, the application redirects plain HTTP unless told the proxy's scheme, and answers only to an
    # allowed host.
    assert "X-Forwarded-Proto" in probe
    assert "ALLOWED_HOSTS" in probe


def test_the_worker_runs_qcluster_and_the_web_tier_gunicorn(compose, dockerfile):
    assert _command(compose["services"]["worker"]["command"]) == "python manage.py qcluster"
    web_command = compose["services"]["web"].get("command")
    if web_command is None:
        web_command = json_list(next(rest for keyword, rest in dockerfile if keyword == "CMD"))
    assert _command(web_command).startswith("gunicorn config.wsgi:application")
    assert "--bind 0.0.0.0:8000" in _command(web_command)


def json_list(text: str) -> list[str]:
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, list), "CMD in exec form"
    return [str(part) for part in parsed]


def test_the_database_is_migrated_before_web_and_worker_start(compose):
    migrate = compose["services"]["migrate"]
    assert "manage.py migrate" in _command(migrate["command"])
    assert "manage.py check --deploy" in _command(migrate["command"])
    assert migrate["restart"] == "no"
    for name in ("web", "worker"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["storage-init"] == {"condition": "service_completed_successfully"}
        assert depends["db"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_the_bucket_is_created_and_versioned_before_the_application_starts(compose):
    script = _command(compose["services"]["storage-init"]["command"])
    assert "mc mb --ignore-existing" in script
    assert "mc version enable" in script
    assert "NoncurrentVersionExpiration" in script
    assert compose["services"]["storage-init"]["depends_on"]["storage"]["condition"] == "service_healthy"
    # Server-side encryption is asked for on every object: the store needs a key for it.
    assert "MINIO_KMS_SECRET_KEY" in compose["services"]["storage"]["environment"]


def test_web_and_worker_share_the_metrics_folder_of_their_host(compose, dockerfile):
    folder = _dockerfile_env(dockerfile)["PROMETHEUS_MULTIPROC_DIR"]
    for name in ("web", "worker"):
        service = compose["services"][name]
        assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"] == folder
        assert f"metrics:{folder}" in service["volumes"]
    options = compose["volumes"]["metrics"]["driver_opts"]
    assert options["type"] == "tmpfs"
    # Writable by the image's user, and by nobody else.
    uid = re.search(r"--uid (\d+)", " ".join(rest for keyword, rest in dockerfile if keyword == "RUN"))
    assert uid is not None
    assert f"uid={uid.group(1)}" in options["o"]
    assert "mode=0700" in options["o"]


def test_the_image_is_python_311_slim_runs_as_a_user_of_its_own_and_has_its_static_files(dockerfile):
    keywords = [keyword for keyword, _ in dockerfile]
    assert dockerfile[0] == ("FROM", "python:3.11-slim")
    users = [rest for keyword, rest in dockerfile if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    runs = " ".join(rest for keyword, rest in dockerfile if keyword == "RUN")
    assert "pip install ." in runs
    assert "manage.py collectstatic --noinput" in runs
    # Installed before the code is copied, so that a code change keeps the dependencies' layer.
    install = next(i for i, (keyword, rest) in enumerate(dockerfile) if keyword == "RUN" and "pip install" in rest)
    copy_all = next(i for i, (keyword, rest) in enumerate(dockerfile) if keyword == "COPY" and rest == ". .")
    assert install < copy_all
    assert keywords.index("USER") > copy_all
    assert "EXPOSE" in keywords


def test_the_image_sets_only_variables_the_settings_or_python_read(dockerfile):
    known = settings_variables() | PROCESS_VARIABLES | PIP_VARIABLES
    assert set(_dockerfile_env(dockerfile)) - known == set()


def test_the_image_leaves_out_local_state_and_secrets():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "var", ".env", "tests"} <= ignored


def test_the_deployment_guide_is_linked_from_the_readme_and_names_real_variables():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()
    assigned = set(re.findall(r"^([A-Z][A-Z0-9_]{2,})=", guide, flags=re.MULTILINE))
    assert {"SECRET_KEY", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS"} <= assigned
    unknown = assigned - settings_variables() - PROCESS_VARIABLES - DEPLOYMENT_VARIABLES
    assert unknown == set(), "docs/deploy.md sets variables nothing reads"
    for needed in ("qcluster", "gunicorn", "migrate", "pg_dump", "pg_restore", "/healthz", "/readyz"):
        assert needed in guide, needed
