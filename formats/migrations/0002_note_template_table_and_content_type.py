# The table takes the formats app's name, and the content type follows the model so that staff permissions
# and admin history granted on practice templates stay attached to it.

from django.db import migrations


def content_type_to_formats(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="formats", model="notetemplate").exists():
        content_type.objects.filter(app_label="notes", model="notetemplate").update(app_label="formats")


def content_type_to_notes(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="notes", model="notetemplate").exists():
        content_type.objects.filter(app_label="formats", model="notetemplate").update(app_label="notes")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("formats", "0001_note_template_from_notes"),
        ("notes", "0003_note_template_moves_to_formats"),
    ]

    operations = [
        migrations.AlterModelTable(name="notetemplate", table=None),
        migrations.RunPython(content_type_to_formats, content_type_to_notes),
    ]
