"""mobile identity: per-employee credentials bound to one phone, sessions, liveness
challenges, and a perceptual hash on mobile selfies

Revision ID: 0020_mobile_identity
Revises: 0019_command_sync
Create Date: 2026-12-01 17:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0020_mobile_identity'
down_revision = '0019_command_sync'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mobile_credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('device_hash', sa.String(length=64), nullable=True),
    sa.Column('bound_at', sa.DateTime(), nullable=True),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_capture_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_mobile_credentials_employee_id_employees'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_credentials')),
    sa.UniqueConstraint('employee_id', name=op.f('uq_mobile_credentials_employee_id'))
    )
    op.create_table('mobile_challenges',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['mobile_credentials.id'], name=op.f('fk_mobile_challenges_credential_id_mobile_credentials'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_challenges'))
    )
    op.create_table('mobile_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['mobile_credentials.id'], name=op.f('fk_mobile_sessions_credential_id_mobile_credentials'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_mobile_sessions_token_hash'))
    )
    with op.batch_alter_table('mobile_selfies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phash', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_mobile_selfies_employee_received', ['employee_id', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mobile_selfies', schema=None) as batch_op:
        batch_op.drop_index('ix_mobile_selfies_employee_received')
        batch_op.drop_column('phash')
    op.drop_table('mobile_sessions')
    op.drop_table('mobile_challenges')
    op.drop_table('mobile_credentials')
