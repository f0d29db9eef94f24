"""PostgreSQL: raw_punches partitioned by month of local_time

Years of punches (7,000 people x 4 a day x 250 days = 7 million rows a year) made a day's
ingest and a month's reconcile slower as the history grew: the identity index and the
employee index of the whole history had to be walked. Partitioned by month of local time
(RANGE, one table per month plus a DEFAULT partition for punches outside the months made,
e.g. a terminal whose clock says 2000), a day's punches touch the indexes of one month.

What changes with it, on PostgreSQL only (SQLite keeps its single table):
- the primary key becomes (id, local_time): a partitioned table's unique keys must hold
  the partition key. Ids still come from one sequence; they never change (a trigger).
- the identity (device, local time, PIN, state, verify) holds the partition key already
  and stays enforced as it was (ON CONFLICT ON CONSTRAINT uq_raw_punches_identity).
- the four foreign keys that point at raw_punches.id (corrections RESTRICT, face_reviews
  CASCADE, mobile_selfies SET NULL, punch_reviews CASCADE) cannot point at a key without
  local_time: triggers do what they did (the child's insert checks and locks the punch
  FOR KEY SHARE, as a key does; a punch's delete is refused, cascaded or released).
- partitions: every month that holds punches and the months around today; later months
  are made ahead by hub.store.partitions (scheduler job `partitions`, `hub db partitions`).

The rows are copied into the new table inside the migration: about a minute per 10 million
punches (73.8 million in 424 s on 2 cores, bench/punch_years.py).

Revision ID: 0028_punches_by_month
Revises: 0027_task_queue
Create Date: 2026-12-06 08:30:00
"""
from datetime import date

from alembic import op
from sqlalchemy import text

revision = '0028_punches_by_month'
down_revision = '0027_task_queue'
branch_labels = None
depends_on = None

# (child table, what its key did on delete)
CHILDREN = (("corrections", "RESTRICT"), ("face_reviews", "CASCADE"),
            ("mobile_selfies", "SET NULL"), ("punch_reviews", "CASCADE"))
AROUND = (1, 3)  # months made before and after today's
MIN_ROWS = 1000  # fewer punches in a month (a clock that said 2000) stay in the default partition

TABLE = """
ALTER TABLE raw_punches RENAME TO raw_punches_plain;
ALTER TABLE raw_punches_plain RENAME CONSTRAINT pk_raw_punches TO pk_raw_punches_plain;
ALTER TABLE raw_punches_plain RENAME CONSTRAINT uq_raw_punches_identity TO uq_raw_punches_plain_identity;
ALTER INDEX ix_raw_punches_employee_local RENAME TO ix_raw_punches_plain_employee_local;
CREATE TABLE raw_punches (LIKE raw_punches_plain INCLUDING DEFAULTS) PARTITION BY RANGE (local_time);
ALTER SEQUENCE raw_punches_id_seq OWNED BY raw_punches.id;
ALTER TABLE raw_punches ADD CONSTRAINT pk_raw_punches PRIMARY KEY (id, local_time);
ALTER TABLE raw_punches ADD CONSTRAINT uq_raw_punches_identity
    UNIQUE (device_id, local_time, pin, state, verify);
CREATE INDEX ix_raw_punches_employee_local ON raw_punches (employee_id, local_time);
CREATE TABLE raw_punches_default PARTITION OF raw_punches DEFAULT;
"""

# 0009/0010's reference checks, on the new table (and on the plain one on the way down).
REFS = """
CREATE TRIGGER raw_punches_refs_insert AFTER INSERT ON raw_punches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION raw_punches_check_refs();
CREATE TRIGGER raw_punches_refs_update AFTER UPDATE ON raw_punches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION raw_punches_check_refs();
"""

TRIGGERS = REFS + """
-- What the keys pointing at a punch did when it was deleted, once per statement.
CREATE FUNCTION raw_punches_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held text;
BEGIN
    SELECT string_agg(DISTINCT c.punch_id::text, ', ') INTO held
      FROM corrections c WHERE c.punch_id IN (SELECT id FROM old_rows);
    IF held IS NOT NULL THEN
        RAISE EXCEPTION 'punch % still has corrections, which keep it', held
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    DELETE FROM face_reviews WHERE punch_id IN (SELECT id FROM old_rows);
    DELETE FROM punch_reviews WHERE punch_id IN (SELECT id FROM old_rows);
    UPDATE mobile_selfies SET punch_id = NULL WHERE punch_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER raw_punches_deleted AFTER DELETE ON raw_punches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION raw_punches_deleted();

-- A punch's id is what everything else points at: it never changes.
CREATE FUNCTION raw_punches_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a punch''s id never changes (% -> %)', OLD.id, NEW.id
          USING ERRCODE = 'foreign_key_violation';
END $$;
CREATE TRIGGER raw_punches_id_fixed BEFORE UPDATE OF id ON raw_punches
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION raw_punches_id_fixed();

-- The child's side of each key: the punch exists, and stays until this transaction ends.
CREATE FUNCTION punch_ref_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.punch_id IS NOT NULL THEN
        PERFORM 1 FROM raw_punches WHERE id = NEW.punch_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION '% refers to punch % that does not exist', TG_TABLE_NAME, NEW.punch_id
                  USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;
"""

CHILD_TRIGGER = """
CREATE TRIGGER {child}_punch_ref BEFORE INSERT OR UPDATE OF punch_id ON {child}
    FOR EACH ROW EXECUTE FUNCTION punch_ref_check();
"""

DOWN = """
DROP TRIGGER raw_punches_deleted ON raw_punches;
DROP FUNCTION raw_punches_deleted();
DROP TRIGGER raw_punches_id_fixed ON raw_punches;
DROP FUNCTION raw_punches_id_fixed();
ALTER TABLE raw_punches RENAME TO raw_punches_parts;
ALTER TABLE raw_punches_parts RENAME CONSTRAINT pk_raw_punches TO pk_raw_punches_parts;
ALTER TABLE raw_punches_parts RENAME CONSTRAINT uq_raw_punches_identity TO uq_raw_punches_parts_identity;
ALTER INDEX ix_raw_punches_employee_local RENAME TO ix_raw_punches_parts_employee_local;
CREATE TABLE raw_punches (LIKE raw_punches_parts INCLUDING DEFAULTS);
ALTER SEQUENCE raw_punches_id_seq OWNED BY raw_punches.id;
INSERT INTO raw_punches SELECT * FROM raw_punches_parts;
DROP TABLE raw_punches_parts;
ALTER TABLE raw_punches ADD CONSTRAINT pk_raw_punches PRIMARY KEY (id);
ALTER TABLE raw_punches ADD CONSTRAINT uq_raw_punches_identity
    UNIQUE (device_id, local_time, pin, state, verify);
CREATE INDEX ix_raw_punches_employee_local ON raw_punches (employee_id, local_time);
""" + REFS


def _month(d: date, shift: int = 0) -> date:
    n = d.year * 12 + d.month - 1 + shift
    return date(n // 12, n % 12 + 1, 1)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for child, _rule in CHILDREN:
        op.drop_constraint(f"fk_{child}_punch_id_raw_punches", child, type_="foreignkey")
    op.execute(TABLE)
    held = bind.execute(text("SELECT date_trunc('month', local_time)::date, count(*) FROM raw_punches_plain "
                             "GROUP BY 1"))
    today = date.today()
    months = {m for m, n in held if n >= MIN_ROWS} | {_month(today, k) for k in range(-AROUND[0], AROUND[1] + 1)}
    for m in sorted(months):
        op.execute(f"CREATE TABLE raw_punches_{m:%Y_%m} PARTITION OF raw_punches "
                   f"FOR VALUES FROM ('{m}') TO ('{_month(m, 1)}')")
    # Copied before the triggers exist: the rows were checked when they were written.
    op.execute("INSERT INTO raw_punches SELECT * FROM raw_punches_plain")
    op.execute("DROP TABLE raw_punches_plain")
    op.execute(TRIGGERS)
    for child, _rule in CHILDREN:
        op.execute(CHILD_TRIGGER.format(child=child))
    op.execute("ANALYZE raw_punches")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child, _rule in CHILDREN:
        op.execute(f"DROP TRIGGER {child}_punch_ref ON {child}")
    op.execute("DROP FUNCTION punch_ref_check()")
    op.execute(DOWN)
    for child, rule in CHILDREN:
        op.create_foreign_key(f"fk_{child}_punch_id_raw_punches", child, "raw_punches", ["punch_id"], ["id"],
                              ondelete=rule)
