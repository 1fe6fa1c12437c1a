"""Count, on every existing note, the flags that still need review, per kind (0009 added ``Note.flag_counts``).

Reads the stored JSON directly, as ``notes.content.NoteContent.from_json`` would: every statement flag except
``edited``, or, in the older shape without flags, ``unsupported`` for a statement that is not supported. No note
has flags of its own or dismissed flags yet.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import migrations

BATCH = 500


def _counts(sections: Any) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for section in sections if isinstance(sections, list) else []:
        statements = section.get("statements", []) if isinstance(section, dict) else []
        for statement in statements if isinstance(statements, list) else []:
            if not isinstance(statement, dict):
                continue
            if "flags" in statement:
                for flag in statement["flags"] if isinstance(statement["flags"], list) else []:
                    if isinstance(flag, dict) and flag.get("kind") not in (None, "edited"):
                        counts[str(flag["kind"])] += 1
            elif statement.get("supported") is False:
                counts["unsupported"] += 1
    return dict(counts)


def count_flags(apps: Any, schema_editor: Any) -> None:
    note_model = apps.get_model("notes", "Note")
    pending = []
    for note in note_model.objects.only("id", "sections").iterator(chunk_size=BATCH):
        counts = _counts(note.sections)
        if counts:
            note.flag_counts = counts
            pending.append(note)
        if len(pending) >= BATCH:
            note_model.objects.bulk_update(pending, ["flag_counts"])
            pending = []
    if pending:
        note_model.objects.bulk_update(pending, ["flag_counts"])


class Migration(migrations.Migration):
    dependencies = [("notes", "0009_note_flags_and_flag_counts")]

    operations = [migrations.RunPython(count_flags, migrations.RunPython.noop, elidable=True)]
