"""device requests: work on a terminal asked of the running hub by another process

`hub pull` and `hub device sync-time` run while `hub run` holds the terminals' sessions
are done by that hub (hub.service.requests), so no second session is opened.

Revision ID: 0014_device_requests
Revises: 0013_device_health
Create Date: 2026-12-01 13:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0014_device_requests'
down_revision = '0013_device_health'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_requests_device_id_devices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_requests'))
    )
    with op.batch_alter_table('device_requests', schema=None) as batch_op:
        batch_op.create_index('ix_device_requests_status', ['status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_device_requests_status')
    op.drop_table('device_requests')
