"""Hikvision ISAPI terminals: a login (Digest), the newest serialNo read, non-punch events

Revision ID: 0025_isapi
Revises: 0024_mobile_field
Create Date: 2026-12-06 03:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0025_isapi'
down_revision = '0024_mobile_field'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('login_enc', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('last_seq', sa.BigInteger(), nullable=True))
    op.create_table('device_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('major', sa.Integer(), nullable=False),
    sa.Column('minor', sa.Integer(), nullable=False),
    sa.Column('at_utc', sa.DateTime(), nullable=False),
    sa.Column('local_time', sa.DateTime(), nullable=False),
    sa.Column('employee_no', sa.String(length=32), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('ingest_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_events_device_id_devices'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ingest_run_id'], ['ingest_runs.id'],
                            name=op.f('fk_device_events_ingest_run_id_ingest_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_events')),
    sa.UniqueConstraint('device_id', 'seq', 'at_utc', name='uq_device_events_identity')
    )


def downgrade() -> None:
    op.drop_table('device_events')
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('last_seq')
        batch.drop_column('login_enc')
