"""leave scans: the scanned letter behind a leave entry, encrypted (leave_scans)

Revision ID: 0023_leave_scans
Revises: 0022_audit_office
Create Date: 2026-12-01 22:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0023_leave_scans'
down_revision = '0022_audit_office'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('leave_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('leave_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data_enc', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['leave_id'], ['leave_entries.id'], name=op.f('fk_leave_scans_leave_id_leave_entries'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leave_scans')),
    sa.UniqueConstraint('leave_id', name=op.f('uq_leave_scans_leave_id'))
    )


def downgrade() -> None:
    op.drop_table('leave_scans')
