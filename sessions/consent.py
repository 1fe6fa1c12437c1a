"""Consent to record a session, and the practice's consent script it was given against.

A session's consent has a status (given, declined, not recorded), a method (verbal, written, electronic), the
version of the practice's script shown, and who recorded it when. In-browser recording needs consent given;
a practice may also require it before any processing (``processing_needs_consent``).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Practice, User
from sessions.models import ClinicalSession, ConsentScript

Status = ClinicalSession.ConsentStatus

# Longest consent script kept; a page of text is a few thousand characters.
SCRIPT_MAX_CHARS = 20_000


class ConsentInvalid(ValueError):
    """The status and method do not go together, or the script version is not the practice's."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def session_record_consent(
    *,
    session: ClinicalSession,
    status: str,
    method: str,
    recorded_by: User,
    script: ConsentScript | None = None,
) -> ClinicalSession:
    """Record the client's answer. ``script`` is the version shown; by default the practice's current one.

    Given consent needs a method; "not recorded" clears everything (method, script, who and when).
    """
    if status not in Status.values:
        raise ConsentInvalid("status", f"Use one of: {', '.join(Status.values)}.")
    if method and method not in ClinicalSession.ConsentMethod.values:
        raise ConsentInvalid("method", f"Use one of: {', '.join(ClinicalSession.ConsentMethod.values)}.")
    if status == Status.GIVEN and not method:
        raise ConsentInvalid("method", "Say how the client gave consent: verbal, written or electronic.")
    if status == Status.NOT_RECORDED and method:
        raise ConsentInvalid("method", "A consent that is not recorded has no method; leave it empty.")
    if script is not None and script.practice_id != session.practice_id:
        raise ConsentInvalid("script_version", "This consent script is not your practice's.")
    session.consent_status = status
    session.consent_method = method
    if status == Status.NOT_RECORDED:
        session.consent_script = None
        session.consent_recorded_at = None
        session.consent_recorded_by = None
    else:
        session.consent_script = script or ConsentScript.objects.current_for(session.practice_id)
        session.consent_recorded_at = timezone.now()
        session.consent_recorded_by = recorded_by
    session.save(
        update_fields=[
            "consent_status",
            "consent_method",
            "consent_script",
            "consent_recorded_at",
            "consent_recorded_by",
            "updated_at",
        ]
    )
    return session


def apply_consent_method(session: ClinicalSession, method: str, recorded_by: User) -> None:
    """The shorthand of the session forms and ``consent_method`` in the API: a method means consent given with
    it, none means not recorded. Sets the fields on the unsaved session; the caller saves it."""
    session.consent_method = method
    if method:
        session.consent_status = Status.GIVEN
        session.consent_script = ConsentScript.objects.current_for(session.practice_id)
        session.consent_recorded_at = timezone.now()
        session.consent_recorded_by = recorded_by
    else:
        session.consent_status = Status.NOT_RECORDED
        session.consent_script = None
        session.consent_recorded_at = None
        session.consent_recorded_by = None


def processing_needs_consent(session: ClinicalSession) -> bool:
    """Whether the practice refuses to process this session until its consent is given (read afresh: the
    session at hand may predate a consent recorded meanwhile)."""
    row = (
        ClinicalSession.objects.filter(pk=session.pk)
        .values_list("practice__require_consent_before_processing", "consent_status")
        .first()
    )
    return row is not None and bool(row[0]) and row[1] != Status.GIVEN


def consent_summary(session: ClinicalSession) -> str:
    """One PHI-free line for exports: ``Consent: given (verbal), 2026-03-14 10:32 UTC``."""
    status = Status(session.consent_status).label.lower() if session.consent_status in Status.values else "unknown"
    text = f"Consent: {status}"
    if session.consent_method:
        text += f" ({ClinicalSession.ConsentMethod(session.consent_method).label.lower()})"
    if session.consent_recorded_at is not None and session.consent_status != Status.NOT_RECORDED:
        moment = timezone.localtime(session.consent_recorded_at)
        text += f", {moment:%Y-%m-%d %H:%M} {moment.tzname()}"
    return text


def consent_script_save(
    *, practice: Practice, text: str, require_before_processing: bool, saved_by: User
) -> ConsentScript | None:
    """Save the practice's consent settings. Changed script text becomes a new version (returned); the same
    text as the current version adds none (returns None)."""
    text = text.strip().replace("\r\n", "\n")
    if len(text) > SCRIPT_MAX_CHARS:
        raise ConsentInvalid("text", f"The script is longer than {SCRIPT_MAX_CHARS} characters.")
    if practice.require_consent_before_processing != require_before_processing:
        Practice.objects.filter(pk=practice.pk).update(require_consent_before_processing=require_before_processing)
        practice.require_consent_before_processing = require_before_processing
    current = ConsentScript.objects.current_for(practice.pk)
    if (current.text if current else "") == text:
        return None
    for _ in range(3):
        try:
            with transaction.atomic():
                latest = ConsentScript.objects.filter(practice=practice).aggregate(latest=Max("version"))["latest"]
                return ConsentScript.objects.create(
                    practice=practice, version=(latest or 0) + 1, text=text, created_by=saved_by
                )
        except IntegrityError:
            continue  # another owner saved the same version number at the same moment: take the next one
    raise ConsentInvalid("text", "The script could not be saved; try again.")
