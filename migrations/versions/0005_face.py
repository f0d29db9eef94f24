"""face: review queue of face findings, hashes of mobile selfies

Revision ID: 0005_face
Revises: 0004_push
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_face'
down_revision = '0004_push'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'face_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('other_employee_id', sa.Integer(), nullable=True),
        sa.Column('punch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('distance', sa.Float(), nullable=True),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_by', sa.String(length=100), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name=op.f('fk_face_reviews_employee_id_employees'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['other_employee_id'], ['employees.id'],
                                name=op.f('fk_face_reviews_other_employee_id_employees'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['punch_id'], ['raw_punches.id'],
                                name=op.f('fk_face_reviews_punch_id_raw_punches'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_face_reviews')),
    )
    op.create_index('ix_face_reviews_status_kind', 'face_reviews', ['status', 'kind'],
                    unique=False)
    op.create_table(
        'mobile_selfies',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('punch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('face_distance', sa.Float(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['employee_id'], ['employees.id'],
                                name=op.f('fk_mobile_selfies_employee_id_employees'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['punch_id'], ['raw_punches.id'],
                                name=op.f('fk_mobile_selfies_punch_id_raw_punches'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_selfies')),
        sa.UniqueConstraint('sha256', name=op.f('uq_mobile_selfies_sha256')),
    )


def downgrade() -> None:
    op.drop_table('mobile_selfies')
    op.drop_index('ix_face_reviews_status_kind', table_name='face_reviews')
    op.drop_table('face_reviews')
