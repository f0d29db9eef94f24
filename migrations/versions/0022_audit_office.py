"""audit office: the office an audit record concerns (audit_log.site_id), for the auditor's
office filter; filled in when a record is written, backfilled here from the terminal,
employee, office or period it names

Revision ID: 0022_audit_office
Revises: 0021_user_scope
Create Date: 2026-12-01 22:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0022_audit_office'
down_revision = '0021_user_scope'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_audit_log_site_id'), ['site_id'], unique=False)
    # records written before: from the thing they name (details are left alone: JSON reads
    # differ between SQLite and PostgreSQL, and new records carry their office anyway)
    op.execute("UPDATE audit_log SET site_id = (SELECT devices.site_id FROM devices "
               "WHERE CAST(devices.id AS VARCHAR(64)) = audit_log.entity_id) WHERE entity = 'device'")
    op.execute("UPDATE audit_log SET site_id = (SELECT employees.site_id FROM employees "
               "WHERE CAST(employees.id AS VARCHAR(64)) = audit_log.entity_id) WHERE entity = 'employee'")
    op.execute("UPDATE audit_log SET site_id = (SELECT sites.id FROM sites "
               "WHERE CAST(sites.id AS VARCHAR(64)) = audit_log.entity_id) WHERE entity = 'site'")


def downgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_index(batch.f('ix_audit_log_site_id'))
        batch.drop_column('site_id')
