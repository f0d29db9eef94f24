"""PostgreSQL: raw_punches' references checked once per statement, not once per row

A foreign key checks (and FOR KEY SHARE-locks) its parent row for every inserted row: in
a bulk ingest that is most of the database's work per punch. On PostgreSQL the three
references of raw_punches (device, employee, ingest run) become statement-level triggers
over the inserted/updated rows (transition tables) that take the same locks once per
referenced id and refuse a missing parent with the same error class, plus triggers on the
parents that do what the keys' ON DELETE did (RESTRICT, SET NULL, SET NULL). SQLite keeps
its foreign keys: they cost little there.

Revision ID: 0009_punch_refs_by_statement
Revises: 0008_punch_indexes
Create Date: 2026-11-29 22:30:00
"""
from alembic import op

revision = '0009_punch_refs_by_statement'
down_revision = '0008_punch_indexes'
branch_labels = None
depends_on = None

FKS = (
    ("fk_raw_punches_device_id_devices", "device_id", "devices", "RESTRICT"),
    ("fk_raw_punches_employee_id_employees", "employee_id", "employees", "SET NULL"),
    ("fk_raw_punches_ingest_run_id_ingest_runs", "ingest_run_id", "ingest_runs", "SET NULL"),
)

# The check itself (0010 returns to it on its way down).
CHECK_REFS = """
CREATE FUNCTION raw_punches_check_refs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- The locks a foreign key takes, once per referenced row: a parent cannot be deleted
    -- until this transaction ends.
    PERFORM 1 FROM devices WHERE id IN (SELECT device_id FROM new_rows)
        ORDER BY id FOR KEY SHARE;
    PERFORM 1 FROM employees WHERE id IN (SELECT employee_id FROM new_rows)
        ORDER BY id FOR KEY SHARE;
    PERFORM 1 FROM ingest_runs WHERE id IN (SELECT ingest_run_id FROM new_rows)
        ORDER BY id FOR KEY SHARE;
    SELECT n.device_id, n.employee_id, n.ingest_run_id INTO bad FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = n.device_id)
        OR (n.employee_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM employees e WHERE e.id = n.employee_id))
        OR (n.ingest_run_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM ingest_runs r WHERE r.id = n.ingest_run_id))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'raw_punches refers to a device, employee or ingest run that does '
                        'not exist (device_id, employee_id, ingest_run_id) = %', bad
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
"""

UP = CHECK_REFS + """
CREATE TRIGGER raw_punches_refs_insert AFTER INSERT ON raw_punches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION raw_punches_check_refs();
CREATE TRIGGER raw_punches_refs_update AFTER UPDATE ON raw_punches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION raw_punches_check_refs();

CREATE FUNCTION devices_keep_punches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR OLD.id <> NEW.id)
       AND EXISTS (SELECT 1 FROM raw_punches WHERE device_id = OLD.id) THEN
        RAISE EXCEPTION 'device % still has punches, which are never deleted', OLD.id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER devices_keep_punches BEFORE DELETE OR UPDATE OF id ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_keep_punches();
"""

# ON DELETE SET NULL of the employee and ingest-run references.
RELEASE = """
CREATE FUNCTION {parent}_release_punches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE raw_punches SET {column} = NULL WHERE {column} = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER {parent}_release_punches AFTER DELETE ON {parent}
    FOR EACH ROW EXECUTE FUNCTION {parent}_release_punches();
"""

DOWN = """
DROP TRIGGER ingest_runs_release_punches ON ingest_runs;
DROP FUNCTION ingest_runs_release_punches();
DROP TRIGGER employees_release_punches ON employees;
DROP FUNCTION employees_release_punches();
DROP TRIGGER devices_keep_punches ON devices;
DROP FUNCTION devices_keep_punches();
DROP TRIGGER raw_punches_refs_update ON raw_punches;
DROP TRIGGER raw_punches_refs_insert ON raw_punches;
DROP FUNCTION raw_punches_check_refs();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _col, _parent, _rule in FKS:
        op.drop_constraint(name, "raw_punches", type_="foreignkey")
    op.execute(UP)
    for _name, column, parent, rule in FKS:
        if rule == "SET NULL":
            op.execute(RELEASE.format(parent=parent, column=column))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(DOWN)
    for name, col, parent, rule in FKS:
        op.create_foreign_key(name, "raw_punches", parent, [col], ["id"], ondelete=rule)
