"""punch photos checked: an ATTPHOTO's verdict against the punch's employee

A terminal's punch photo is compared with the employee's enrolled face by a scheduled job
(hub.face.punch_photos); the verdict and the punch it vouches for are kept on the photo.

Revision ID: 0012_punch_photo_checks
Revises: 0011_recap_trust
Create Date: 2026-12-01 10:41:50.371622
"""
import sqlalchemy as sa
from alembic import op


revision = '0012_punch_photo_checks'
down_revision = '0011_recap_trust'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('push_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('check_result', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('punch_id', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_push_photos_kind_checked', ['kind', 'checked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('push_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_push_photos_kind_checked')
        batch_op.drop_column('punch_id')
        batch_op.drop_column('check_result')
        batch_op.drop_column('checked_at')

