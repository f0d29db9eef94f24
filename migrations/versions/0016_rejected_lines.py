"""rejected lines: what a terminal sent that could not be stored, kept verbatim with its reason

Revision ID: 0016_rejected_lines
Revises: 0015_login_throttle
Create Date: 2026-12-01 14:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0016_rejected_lines'
down_revision = '0015_login_throttle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rejected_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('line_enc', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('stamp', sa.String(length=32), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_rejected_lines_device_id_devices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejected_lines'))
    )
    with op.batch_alter_table('rejected_lines', schema=None) as batch_op:
        batch_op.create_index('ix_rejected_lines_device_status', ['device_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rejected_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_rejected_lines_device_status')
    op.drop_table('rejected_lines')
