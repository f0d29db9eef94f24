"""user scope: the offices a console user works for (user_sites)

Revision ID: 0021_user_scope
Revises: 0020_mobile_identity
Create Date: 2026-12-01 19:45:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0021_user_scope'
down_revision = '0020_mobile_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_sites',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sites_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_user_sites_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_user_sites'))
    )


def downgrade() -> None:
    op.drop_table('user_sites')
