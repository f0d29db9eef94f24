"""recap trust: go-live, outages, no-data decisions, punch reviews, frozen locks

Figures BPKAD can sign: an office's go-live date (days before it are not judged), spans in
which a terminal's log is incomplete, a reviewer's decision per terminal and day without
data, a reviewer's decision per quarantined punch, and a lock that records the hash and
counts of what it froze.

Revision ID: 0011_recap_trust
Revises: 0010_punch_refs_one_pass
Create Date: 2026-12-01 10:09:59.329875
"""
import sqlalchemy as sa
from alembic import op


revision = '0011_recap_trust'
down_revision = '0010_punch_refs_one_pass'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nodata_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nodata_decisions')),
    sa.UniqueConstraint('terminal', 'day', name=op.f('uq_nodata_decisions_terminal_day'))
    )
    op.create_table('device_outages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('start_local', sa.DateTime(), nullable=False),
    sa.Column('end_local', sa.DateTime(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_outages_device_id_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_outages'))
    )
    with op.batch_alter_table('device_outages', schema=None) as batch_op:
        batch_op.create_index('ix_device_outages_device_start', ['device_id', 'start_local'], unique=False)

    op.create_table('punch_reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('punch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['punch_id'], ['raw_punches.id'], name=op.f('fk_punch_reviews_punch_id_raw_punches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_punch_reviews')),
    sa.UniqueConstraint('punch_id', name=op.f('uq_punch_reviews_punch_id'))
    )
    with op.batch_alter_table('period_locks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('figures_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('go_live', sa.Date(), nullable=True))

    # recap_rows now hold only what a lock froze. Rows the old monthly job wrote were never
    # frozen: a locked month without rows is read from its (kept) daily statuses.
    op.execute("DELETE FROM recap_rows")
    with op.batch_alter_table('recap_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lock_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_recap_rows_lock_id_period_locks'), 'period_locks',
                                    ['lock_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('recap_rows', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_recap_rows_lock_id_period_locks'), type_='foreignkey')
        batch_op.drop_column('lock_id')

    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('go_live')

    with op.batch_alter_table('period_locks', schema=None) as batch_op:
        batch_op.drop_column('summary')
        batch_op.drop_column('figures_sha256')

    op.drop_table('punch_reviews')
    with op.batch_alter_table('device_outages', schema=None) as batch_op:
        batch_op.drop_index('ix_device_outages_device_start')

    op.drop_table('device_outages')
    op.drop_table('nodata_decisions')
