# NoteTemplate now belongs to the formats app (formats.0001 took over Django's record of it); the table is
# left in place here and renamed by formats.0002.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0002_pending_draft_and_draft_ref"),
        ("formats", "0001_note_template_from_notes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="NoteTemplate")],
        ),
    ]
