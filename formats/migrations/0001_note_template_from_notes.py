# The practice's note formats were a model of the notes app. Only Django's record of the model moves here;
# the table stays as it was until the next migration renames it.

import django.db.models.deletion
from django.db import migrations, models

import formats.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_api_idempotency_and_rate_limits"),
        ("notes", "0002_pending_draft_and_draft_ref"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="NoteTemplate",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "key",
                            models.SlugField(
                                help_text="Short identifier used by the API, e.g. 'intake'.", max_length=64
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        (
                            "sections",
                            models.JSONField(
                                help_text='A list of {"key": ..., "heading": ..., "instruction": ...} in display order.',
                                validators=[formats.models.validate_template_sections],
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "practice",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="note_templates",
                                to="accounts.practice",
                            ),
                        ),
                    ],
                    options={"ordering": ["name"], "db_table": "notes_notetemplate"},
                ),
                migrations.AddConstraint(
                    model_name="notetemplate",
                    constraint=models.UniqueConstraint(fields=("practice", "key"), name="notetemplate_unique_key"),
                ),
            ],
        ),
    ]
