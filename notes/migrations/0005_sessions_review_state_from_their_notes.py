"""Record, on every session that has a note in its format, where that note stands (sessions 0004 added the field).

Reads the stored JSON directly, as ``notes.content.NoteContent.from_json`` would: a statement needs review when it
has a flag other than ``edited``, or, in the older shape without flags, when it is not supported. No addenda exist
yet, so a signed note is signed, not amended.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import F

BATCH = 500


def _needs_review(sections: Any) -> bool:
    if not isinstance(sections, list):
        return True
    for section in sections:
        statements = section.get("statements", []) if isinstance(section, dict) else []
        for statement in statements if isinstance(statements, list) else []:
            if not isinstance(statement, dict):
                continue
            if "flags" in statement:
                flags = statement["flags"] if isinstance(statement["flags"], list) else []
                if any(isinstance(flag, dict) and flag.get("kind") != "edited" for flag in flags):
                    return True
            elif statement.get("supported") is False:
                return True
    return False


def record_review_states(apps: Any, schema_editor: Any) -> None:
    note_model = apps.get_model("notes", "Note")
    session_model = apps.get_model("clinical_sessions", "ClinicalSession")
    states: dict[str, list[Any]] = {"draft": [], "needs_review": [], "signed": []}
    notes = note_model.objects.filter(session__note_type=F("note_type")).values_list("session_id", "status", "sections")
    for session_id, status, sections in notes.iterator(chunk_size=BATCH):
        if status == "signed":
            states["signed"].append(session_id)
        elif _needs_review(sections):
            states["needs_review"].append(session_id)
        else:
            states["draft"].append(session_id)
    for state, session_ids in states.items():
        for start in range(0, len(session_ids), BATCH):
            session_model.objects.filter(pk__in=session_ids[start : start + BATCH]).update(review_state=state)


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0004_note_signed_via_key_and_addenda"),
        ("clinical_sessions", "0006_clinicalsession_review_state"),
    ]

    operations = [migrations.RunPython(record_review_states, migrations.RunPython.noop, elidable=True)]
