"""The database refuses to change audit events, whatever code tries: a trigger on PostgreSQL (updates always;
deletes unless the transaction is the retention purge's, see accounts.audit.PURGE_FLAG_SQL) and on SQLite
(updates). Written as SQL per database vendor; other databases get no trigger."""

from django.db import migrations

POSTGRESQL_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('sessionscribe.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: an UPDATE or DELETE was refused';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only()
    """,
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent",
    "DROP FUNCTION IF EXISTS accounts_auditevent_append_only()",
]
SQLITE_FORWARD = [
    """
    CREATE TRIGGER accounts_auditevent_no_update BEFORE UPDATE ON accounts_auditevent
    BEGIN
        SELECT RAISE(ABORT, 'audit events are append-only: an UPDATE was refused');
    END
    """,
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS accounts_auditevent_no_update"]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_auditevent"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
