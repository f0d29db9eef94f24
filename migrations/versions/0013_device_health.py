"""device health: consecutive failures, failing since, live backoff, recovered at

Revision ID: 0013_device_health
Revises: 0012_punch_photo_checks
Create Date: 2026-12-01 13:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013_device_health'
down_revision = '0012_punch_photo_checks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('backoff_s', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('recovered_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('recovered_at')
        batch_op.drop_column('backoff_s')
        batch_op.drop_column('failing_since')
        batch_op.drop_column('failures')
