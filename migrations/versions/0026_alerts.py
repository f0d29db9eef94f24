"""Alerts to people: one row per problem the rules found, open until over, with what was sent

Revision ID: 0026_alerts
Revises: 0025_isapi
Create Date: 2026-12-06 06:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0026_alerts'
down_revision = '0025_isapi'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('fix', sa.Text(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('notified', sa.JSON(), nullable=False),
    sa.Column('recovered', sa.JSON(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    op.create_index('ix_alerts_key_resolved', 'alerts', ['key', 'resolved_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_alerts_key_resolved', table_name='alerts')
    op.drop_table('alerts')
