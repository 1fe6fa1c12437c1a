"""Recordings keep the peak byte rate their upload's probe measured, so the pipeline plans chunks without a read.

Rows stored before keep it empty: the pipeline measures those itself when it cuts them.
"""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinical_sessions", "0009_session_created_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="recording",
            name="peak_bytes_per_second",
            field=models.FloatField(blank=True, null=True),
        ),
    ]
