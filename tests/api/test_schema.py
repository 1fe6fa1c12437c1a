"""The OpenAPI schema documents every endpoint and error, and the API answers as it says (schemathesis)."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, Phase, settings

from api.docs import openapi_schema
from notes.models import Note

pytestmark = pytest.mark.django_db

ERROR_STATUSES_EVERYWHERE = {"401", "405"}


def _api_paths() -> set[str]:
    resolver = get_resolver()
    [api] = [p for p in resolver.url_patterns if isinstance(p, URLResolver) and p.namespace == "api"]
    paths = set()
    for pattern in api.url_patterns:
        assert isinstance(pattern, URLPattern)
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern)).replace("{pk}", "{id}")
        paths.add(f"/api/v1/{route}")
    return paths - {"/api/v1/schema", "/api/v1/docs"}


def test_every_api_route_is_in_the_schema():
    assert set(openapi_schema()["paths"]) == _api_paths()


def test_every_operation_documents_its_errors_with_the_envelope():
    for path, operations in openapi_schema()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert set(responses) >= ERROR_STATUSES_EVERYWHERE, f"{method} {path}"
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, f"{method} {path} {status}"
                assert "X-Request-ID" in response["headers"]
            assert operation.get("summary"), f"{method} {path} has no summary"


def test_no_operation_publishes_the_base_views_notes_for_maintainers():
    for path, operations in openapi_schema()["paths"].items():
        for method, operation in operations.items():
            description = operation.get("description", "")
            assert "queryset" not in description, f"{method} {path}"
            assert "practice's data" not in description, f"{method} {path}"


def test_enum_fields_list_their_values_without_a_generated_bullet_list():
    schema = json.dumps(openapi_schema())
    assert "* `" not in schema


def test_the_schema_is_served_publicly_as_json(client):
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert client.get("/api/v1/schema", {"format": "yaml"}).content.startswith(b"openapi:")


def test_the_reference_page_lists_every_endpoint(client):
    page = client.get("/api/v1/docs").content.decode()
    for path in openapi_schema()["paths"]:
        assert f"{path}</code>" in page
    assert "ErrorEnvelope" in page
    assert "<script" not in page


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI application, on the test's database connection (which a real request would close
    at its end, as Django's own test client prevents)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_dict(openapi_schema())


@pytest.fixture
def bounded_rates(settings):
    for name in ("API_RATE_JOBS", "API_RATE_JOBS_PER_IP", "API_RATE_UPLOADS", "API_RATE_UPLOADS_PER_IP"):
        setattr(settings, name, "10000/min")
    settings.AI_MODE = "stub"


@pytest.fixture
def real_ids(succeeded_job):
    return {"sessions": succeeded_job.session_id, "jobs": succeeded_job.pk, "notes": Note.objects.get().pk}


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_answers_as_its_schema_says(case, wsgi_app, alice_key, real_ids, bounded_rates):
    # Half the generated ids are swapped for Alice's real objects, so that bodies reach the services too.
    generated = (case.path_parameters or {}).get("id")
    if generated and str(generated)[:1] in "02468ace":
        case.path_parameters["id"] = str(real_ids[case.operation.path.split("/")[3]])
    case.call_and_validate(
        app=wsgi_app,
        headers={"Authorization": f"Bearer {alice_key}"},
        checks=[
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.status_code_conformance,
            schemathesis.checks.content_type_conformance,
            schemathesis.checks.response_schema_conformance,
            schemathesis.checks.response_headers_conformance,
        ],
    )
