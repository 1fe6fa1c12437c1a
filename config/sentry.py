"""Error reports to Sentry, when SENTRY_DSN is set, without PHI.

What an error report may carry is limited to what identifies the fault: the exception's type, the stack of
function names and lines, the request's method and path (ids only, never a query string), the request id and
practice id. Everything that can hold what a client said or a note says is dropped before it leaves: request
bodies, query strings, cookies and headers, local variables, exception messages (they may quote input), log
messages and breadcrumb data.
"""

from __future__ import annotations

from typing import Any

from config.log_context import job_id_var, practice_id_var, request_id_var

_SCRUBBED = "[scrubbed]"


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Strip an event to what identifies the fault; Sentry calls this for every event before sending it."""
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {key: request[key] for key in ("method", "url") if key in request}
        if "url" in event["request"]:
            event["request"]["url"] = str(event["request"]["url"]).split("?", 1)[0]
    event.pop("user", None)
    event.pop("extra", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        if exception.get("value"):
            exception["value"] = _SCRUBBED
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        # The format string is ours (and PHI-free by rule); its arguments are not kept.
        event["logentry"] = {"message": logentry.get("message", ""), "params": []}
    if "message" in event and "logentry" not in event:
        event["message"] = _SCRUBBED
    breadcrumbs = event.get("breadcrumbs")
    values = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else breadcrumbs
    for crumb in values or []:
        crumb.pop("data", None)
        if crumb.get("category") not in (None, "django.request", "query"):
            crumb.pop("message", None)
    tags = event.setdefault("tags", {})
    for name, var in (("request_id", request_id_var), ("job_id", job_id_var), ("practice_id", practice_id_var)):
        value = var.get()
        if value is not None:
            tags[name] = value
    return event


def sentry_init(*, dsn: str, environment: str, **options: Any) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=0.0,
        integrations=[DjangoIntegration()],
        before_send=before_send,  # type: ignore[arg-type]
        **options,
    )
