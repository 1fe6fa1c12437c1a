"""The API's OpenAPI 3 schema (/api/v1/schema) and its reference page (/api/v1/docs).

Both are public: they describe the contract, hold no data, and an integrator reads them before having a key.
The reference page is rendered on the server from the same schema, so it needs no third-party script
(Swagger UI and Redoc load theirs from a CDN, which this site's Content-Security-Policy does not allow and
which would run with a signed-in clinician's cookies). Any OpenAPI viewer can load the schema itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView

from api.errors import json_error

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class _SchemaView(SpectacularAPIView):
    # JSON unless ?format=yaml: `curl … | jq` should just work.
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


api_schema = login_not_required(_SchemaView.as_view())


@functools.cache
def openapi_schema() -> dict[str, Any]:
    generator = SchemaGenerator()  # type: ignore[no-untyped-call]
    schema: dict[str, Any] = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    return schema


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    security: str
    parameters: list[Parameter]
    request: list[tuple[str, str]]
    responses: list[tuple[str, str, str]]


@dataclass(frozen=True)
class Property:
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Component:
    name: str
    description: str
    properties: list[Property] = field(default_factory=list)


def type_of(schema: dict[str, Any]) -> str:
    """A short, readable type of a schema fragment: ``Session``, ``array of Segment``, ``string (uuid)``."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema:
            return " or ".join(type_of(part) for part in schema[combinator])
    kind = schema.get("type", "object")
    if kind == "array":
        text = f"array of {type_of(schema.get('items', {}))}"
    elif "enum" in schema:
        text = "one of " + ", ".join(str(value) for value in schema["enum"] if value not in ("", None))
    elif "format" in schema:
        text = f"{kind} ({schema['format']})"
    else:
        text = str(kind)
    if schema.get("nullable"):
        text += ", or null"
    return text


def _security(operation: dict[str, Any]) -> str:
    security = operation.get("security")
    if security is None:
        return "API key or browser session"
    names = sorted({name for requirement in security for name in requirement})
    if not names:
        return "none (the link or token is the credential)"
    return " or ".join("API key" if name == "apiKey" else "browser session" for name in names)


def operations(schema: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [
                Parameter(
                    name=parameter["name"],
                    location=parameter["in"],
                    type=type_of(parameter.get("schema", {})),
                    required=bool(parameter.get("required")),
                    description=parameter.get("description", ""),
                )
                for parameter in operation.get("parameters", [])
            ]
            content = operation.get("requestBody", {}).get("content", {})
            request = [(media, type_of(body.get("schema", {}))) for media, body in content.items()]
            responses = []
            for code, response in operation.get("responses", {}).items():
                media = response.get("content", {})
                body = ", ".join(f"{type_of(entry.get('schema', {}))} ({kind})" for kind, entry in media.items())
                responses.append((str(code), response.get("description", ""), body))
            found.append(
                Operation(
                    anchor=operation.get("operationId", f"{method}-{path}"),
                    method=method.upper(),
                    path=path,
                    summary=operation.get("summary", ""),
                    description=operation.get("description", ""),
                    security=_security(operation),
                    parameters=parameters,
                    request=request,
                    responses=responses,
                )
            )
    return found


def components(schema: dict[str, Any]) -> list[Component]:
    found = []
    for name, body in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(body.get("required", []))
        properties = [
            Property(
                name=prop_name,
                type=type_of(prop),
                required=prop_name in required,
                description=prop.get("description", ""),
            )
            for prop_name, prop in body.get("properties", {}).items()
        ]
        description = body.get("description", "")
        if not properties and "enum" in body:
            description = (description + " " if description else "") + type_of(body)
        found.append(Component(name=name, description=description, properties=properties))
    return found


@login_not_required
def api_docs(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return json_error(request, 405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    schema = openapi_schema()
    context = {
        "info": schema.get("info", {}),
        "operations": operations(schema),
        "components": components(schema),
    }
    return render(request, "api/docs.html", context)
