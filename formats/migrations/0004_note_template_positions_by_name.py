# A practice's formats were listed by name; they keep that order as their first positions.

from django.db import migrations


def positions_by_name(apps, schema_editor):
    note_template = apps.get_model("formats", "NoteTemplate")
    practice_ids = note_template.objects.values_list("practice_id", flat=True).distinct()
    for practice_id in practice_ids:
        rows = note_template.objects.filter(practice_id=practice_id).order_by("name", "pk")
        for position, row in enumerate(rows, start=1):
            note_template.objects.filter(pk=row.pk).update(position=position)


class Migration(migrations.Migration):
    dependencies = [
        ("formats", "0003_note_template_length_position_retired"),
    ]

    operations = [
        migrations.RunPython(positions_by_name, migrations.RunPython.noop),
    ]
