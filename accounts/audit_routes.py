"""The routes that touch PHI, and what a request to each of them is in the audit trail.

Every URL name listed here (pages, API endpoints, downloads, audio playback, exports, staff's reveal) gets one
audit event per request from ``accounts.middleware.AuditMiddleware``, written after the view answered, with the
outcome its status gives. A method a route accepts maps to an action, or to ``None`` when that method shows or
changes no PHI (an empty form); a method not listed is one the view refuses (405), which the tests check.

tests/accounts/test_audit_routes.py walks the URLconf: every route is either here or in its list of routes
that touch no PHI, each with its reason, so a new route cannot be added without deciding which it is.

Only names are listed (strings), so accounts imports none of the apps whose routes these are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accounts.models import AuditEvent

Action = AuditEvent.Action
ObjectType = AuditEvent.ObjectType

# Requests with the same actor, action, object and outcome within this time are one event: a browser plays
# audio in many range requests, and a recording page sends a part every few seconds.
STREAM_COALESCE_SECONDS = 600


@dataclass(frozen=True)
class PhiRoute:
    object_type: str
    # The URL keyword holding the object's id; None when the URL does not name it (a list, a create).
    id_kwarg: str | None
    # The URL keyword holding the id of the session the object belongs to, when the URL names it.
    session_kwarg: str | None
    # HTTP method -> action; None: accepted, but neither shows nor changes PHI. HEAD is recorded as GET.
    actions: Mapping[str, AuditEvent.Action | None]
    coalesce_seconds: int = 0

    def action_for(self, method: str) -> AuditEvent.Action | None:
        return self.actions.get("GET" if method == "HEAD" else method)

    def accepts(self, method: str) -> bool:
        return ("GET" if method == "HEAD" else method) in self.actions


def _route(
    object_type: str,
    id_kwarg: str | None = None,
    *,
    session_kwarg: str | None = None,
    coalesce_seconds: int = 0,
    **actions: AuditEvent.Action | None,
) -> PhiRoute:
    return PhiRoute(object_type, id_kwarg, session_kwarg, dict(actions), coalesce_seconds)


_SESSION = ObjectType.SESSION
_NOTE = ObjectType.NOTE

PHI_ROUTES: dict[str, PhiRoute] = {
    # --- Session pages ---
    # The list shows client labels; its POST keeps the list's filters (a search may be a client label).
    "clinical_sessions:list": _route(_SESSION, GET=Action.LIST, POST=Action.LIST),
    # GET is the empty form.
    "clinical_sessions:create": _route(_SESSION, GET=None, POST=Action.CREATE),
    "clinical_sessions:detail": _route(_SESSION, "pk", session_kwarg="pk", GET=Action.VIEW),
    "clinical_sessions:edit": _route(_SESSION, "pk", session_kwarg="pk", GET=Action.VIEW, POST=Action.EDIT),
    "clinical_sessions:delete": _route(_SESSION, "pk", session_kwarg="pk", GET=Action.VIEW, POST=Action.DELETE),
    "clinical_sessions:upload": _route(_SESSION, "pk", session_kwarg="pk", POST=Action.UPLOAD),
    "clinical_sessions:audio": _route(
        ObjectType.RECORDING,
        "recording_id",
        session_kwarg="pk",
        coalesce_seconds=STREAM_COALESCE_SECONDS,
        GET=Action.LISTEN,
    ),
    # Naming the transcript's speakers.
    "clinical_sessions:speakers": _route(ObjectType.TRANSCRIPT, session_kwarg="pk", POST=Action.EDIT),
    "clinical_sessions:consent": _route(_SESSION, "pk", session_kwarg="pk", POST=Action.EDIT),
    "clinical_sessions:discard_recording": _route(ObjectType.RECORDING, session_kwarg="pk", POST=Action.DELETE),
    # --- Note pages ---
    "notes:open": _route(_NOTE, session_kwarg="session_id", POST=Action.VIEW),
    "notes:edit": _route(_NOTE, "pk", GET=Action.VIEW, POST=Action.EDIT),
    "notes:accept_draft": _route(_NOTE, "pk", POST=Action.EDIT),
    "notes:dismiss_draft": _route(_NOTE, "pk", POST=Action.EDIT),
    "notes:fix_flag": _route(_NOTE, "pk", POST=Action.EDIT),
    "notes:dismiss_flag": _route(_NOTE, "pk", POST=Action.EDIT),
    "notes:sign": _route(_NOTE, "pk", POST=Action.SIGN),
    "notes:add_addendum": _route(_NOTE, "pk", POST=Action.ADDENDUM),
    "notes:export": _route(_NOTE, "pk", GET=Action.EXPORT),
    "notes:revisions": _route(_NOTE, "pk", GET=Action.VIEW),
    "notes:revision": _route(_NOTE, "pk", GET=Action.VIEW),
    # --- Processing from the pages: what sends a session's audio and transcript to the AI providers ---
    "jobs:upload": _route(_SESSION, "session_id", session_kwarg="session_id", POST=Action.UPLOAD),
    "jobs:start": _route(_SESSION, "session_id", session_kwarg="session_id", POST=Action.PROCESS),
    "jobs:finish_recording": _route(_SESSION, "session_id", session_kwarg="session_id", POST=Action.UPLOAD),
    "jobs:retry": _route(ObjectType.JOB, "pk", POST=Action.PROCESS),
    # --- The integrator API ---
    "api:sessions": _route(_SESSION, GET=Action.LIST, POST=Action.CREATE),
    "api:session": _route(_SESSION, "pk", session_kwarg="pk", GET=Action.VIEW, PATCH=Action.EDIT, DELETE=Action.DELETE),
    "api:session_consent": _route(_SESSION, "pk", session_kwarg="pk", POST=Action.EDIT),
    "api:recording": _route(_SESSION, "pk", session_kwarg="pk", POST=Action.UPLOAD),
    # GET lists the parts' numbers, sizes and hashes: no audio.
    "api:recording_parts": _route(ObjectType.RECORDING, session_kwarg="pk", GET=None, DELETE=Action.DELETE),
    "api:recording_part": _route(
        ObjectType.RECORDING, session_kwarg="pk", coalesce_seconds=STREAM_COALESCE_SECONDS, PUT=Action.UPLOAD
    ),
    "api:recording_parts_complete": _route(ObjectType.RECORDING, session_kwarg="pk", POST=Action.UPLOAD),
    "api:session_jobs": _route(_SESSION, "pk", session_kwarg="pk", POST=Action.PROCESS),
    "api:transcript": _route(ObjectType.TRANSCRIPT, session_kwarg="pk", GET=Action.VIEW),
    "api:job_retry": _route(ObjectType.JOB, "pk", POST=Action.PROCESS),
    # The run's transcript and note.
    "api:job_result": _route(ObjectType.JOB, "pk", GET=Action.VIEW),
    # The signed link names the file; the view says which (the link itself is a credential, never recorded).
    "api:artifact_download": _route(ObjectType.ARTIFACT, GET=Action.DOWNLOAD),
    "api:note": _route(_NOTE, "pk", GET=Action.VIEW, PATCH=Action.EDIT),
    "api:note_sign": _route(_NOTE, "pk", POST=Action.SIGN),
    "api:note_addenda": _route(_NOTE, "pk", POST=Action.ADDENDUM),
    "api:note_export": _route(_NOTE, "pk", GET=Action.EXPORT),
    # --- Staff ---
    # The one way staff read a note's or a transcript's text; GET is the form asking for a reason.
    "admin:notes_note_reveal": _route(_NOTE, "object_id", GET=None, POST=Action.STAFF_PHI_REVEAL),
}


def phi_route(view_name: str) -> PhiRoute | None:
    return PHI_ROUTES.get(view_name)
