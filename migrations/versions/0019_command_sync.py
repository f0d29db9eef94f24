"""device_commands.sync and absorbed_at: a push terminal's roster state follows its confirmations

Revision ID: 0019_command_sync
Revises: 0018_adms_trust
Create Date: 2026-12-01 16:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0019_command_sync'
down_revision = '0018_adms_trust'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('device_commands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sync', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('absorbed_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('device_commands', schema=None) as batch_op:
        batch_op.drop_column('absorbed_at')
        batch_op.drop_column('sync')
