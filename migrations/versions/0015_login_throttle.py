"""login throttling and lockout, API token expiry

Revision ID: 0015_login_throttle
Revises: 0014_device_requests
Create Date: 2026-12-01 14:10:00
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op


revision = '0015_login_throttle'
down_revision = '0014_device_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_failed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    # tokens made before expiry existed live 90 more days, then need renewing
    op.get_bind().execute(sa.text("UPDATE api_tokens SET expires_at = :t WHERE expires_at IS NULL"),
                          {"t": datetime.now(UTC).replace(tzinfo=None) + timedelta(days=90)})


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('first_failed_at')
        batch_op.drop_column('failed_logins')
    op.drop_table('login_throttle')
