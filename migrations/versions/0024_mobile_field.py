"""mobile app: a phone's capture counter, field places (dinas luar), leave asked from the phone

Revision ID: 0024_mobile_field
Revises: 0023_leave_scans
Create Date: 2026-12-06 02:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0024_mobile_field'
down_revision = '0023_leave_scans'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mobile_credentials') as batch:
        batch.add_column(sa.Column('last_capture_seq', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('leave_entries') as batch:
        batch.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('decision_note', sa.Text(), nullable=False, server_default=''))
    op.create_table('field_places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('leave_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_field_places_employee_id_employees'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['leave_id'], ['leave_entries.id'], name=op.f('fk_field_places_leave_id_leave_entries'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_places'))
    )
    op.create_index('ix_field_places_employee_from', 'field_places', ['employee_id', 'valid_from'])


def downgrade() -> None:
    op.drop_index('ix_field_places_employee_from', table_name='field_places')
    op.drop_table('field_places')
    with op.batch_alter_table('leave_entries') as batch:
        batch.drop_column('decision_note')
        batch.drop_column('decided_at')
    with op.batch_alter_table('mobile_credentials') as batch:
        batch.drop_column('last_capture_seq')
