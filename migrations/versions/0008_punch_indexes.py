"""raw_punches indexes that follow how punches arrive and how they are read

The identity stays the same set of columns, ordered (device, local time, pin, state,
verify): a terminal's log arrives oldest first, so new rows land at the right edge of the
device's part of the index, and "this device (or site) between these times" is one range.
Per employee, punches are read by local day, so (employee_id, local_time) replaces
(employee_id, utc_time); the UTC-only index goes (reconcile reads through the others).

Revision ID: 0008_punch_indexes
Revises: 0007_reconcile
Create Date: 2026-11-29 21:50:00
"""
from alembic import op

revision = '0008_punch_indexes'
down_revision = '0007_reconcile'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_punches') as batch:
        batch.drop_constraint('uq_raw_punches_identity', type_='unique')
        batch.create_unique_constraint('uq_raw_punches_identity',
                                       ['device_id', 'local_time', 'pin', 'state', 'verify'])
        batch.drop_index('ix_raw_punches_utc')
        batch.drop_index('ix_raw_punches_employee_utc')
        batch.create_index('ix_raw_punches_employee_local', ['employee_id', 'local_time'])


def downgrade() -> None:
    with op.batch_alter_table('raw_punches') as batch:
        batch.drop_index('ix_raw_punches_employee_local')
        batch.create_index('ix_raw_punches_employee_utc', ['employee_id', 'utc_time'])
        batch.create_index('ix_raw_punches_utc', ['utc_time'])
        batch.drop_constraint('uq_raw_punches_identity', type_='unique')
        batch.create_unique_constraint('uq_raw_punches_identity',
                                       ['device_id', 'pin', 'local_time', 'state', 'verify'])
