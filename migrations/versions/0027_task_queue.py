"""cluster mode: procrastinate's task queue (tables, types, functions) on PostgreSQL; nothing
on SQLite (one process only). The schema is the pinned procrastinate release's own.

Revision ID: 0027_task_queue
Revises: 0026_alerts
Create Date: 2026-12-06 07:00:00
"""
from alembic import op

revision = '0027_task_queue'
down_revision = '0026_alerts'
branch_labels = None
depends_on = None


def _raw(sql: str) -> None:
    """Through the driver's own cursor without parameters: the % signs in the SQL stay as
    they are (SQLAlchemy and psycopg would read them as placeholders)."""
    op.get_bind().connection.cursor().execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    _raw(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _raw("""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
    LOOP EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename); END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
    LOOP EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.f); END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
    LOOP EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname); END LOOP;
END $$;
""")
