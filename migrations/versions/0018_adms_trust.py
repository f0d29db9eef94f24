"""ADMS terminal trust (pinned source, path key, PUSH 3.x registration), refusal counters,
and a keyed digest on rejected lines (a resent batch keeps them once)

Approved ADMS terminals are pinned to the address their pending registration came from;
others learn theirs at first contact (hub.adapters.adms.trust).

Revision ID: 0018_adms_trust
Revises: 0017_seal_biometrics
Create Date: 2026-12-01 16:10:00
"""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0018_adms_trust'
down_revision = '0017_seal_biometrics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('edge_refusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('last_addr', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edge_refusals')),
    sa.UniqueConstraint('channel', 'serial', 'reason', name=op.f('uq_edge_refusals_channel_serial_reason'))
    )
    op.create_table('push_trust',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('sources', sa.Text(), nullable=True),
    sa.Column('learned_at', sa.DateTime(), nullable=True),
    sa.Column('pending_source', sa.String(length=64), nullable=True),
    sa.Column('pending_since', sa.DateTime(), nullable=True),
    sa.Column('pending_attempts', sa.Integer(), nullable=False),
    sa.Column('path_key_hash', sa.String(length=64), nullable=True),
    sa.Column('registry_code_enc', sa.LargeBinary(), nullable=True),
    sa.Column('registered_at', sa.DateTime(), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('previous_session_id', sa.String(length=64), nullable=True),
    sa.Column('session_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_push_trust_device_id_devices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_push_trust'))
    )
    with op.batch_alter_table('rejected_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_digest', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_rejected_lines_digest', ['device_id', 'kind', 'line_digest'], unique=False)
    conn = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = conn.execute(sa.text(
        "SELECT d.id, r.info FROM devices d JOIN push_registrations r ON r.serial = d.serial "
        "WHERE d.kind = 'adms' AND r.status = 'approved'")).all()
    for device_id, info in rows:
        info = json.loads(info) if isinstance(info, str) else (info or {})
        addr = info.get("last_addr") or info.get("addr")
        if addr:
            conn.execute(sa.text(
                "INSERT INTO push_trust (device_id, sources, learned_at, pending_attempts, updated_at) "
                "VALUES (:d, :s, :t, 0, :t)"), {"d": device_id, "s": addr, "t": now})


def downgrade() -> None:
    with op.batch_alter_table('rejected_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_rejected_lines_digest')
        batch_op.drop_column('line_digest')
    op.drop_table('push_trust')
    op.drop_table('edge_refusals')
