"""seal biometrics stored before they were encrypted: push photos, pushed user records,
queued command payloads (confirmed commands lose their secrets)

Needs the hub's key (HUB_SECRET_KEY or var/secret.key), as the hub itself does.

Revision ID: 0017_seal_biometrics
Revises: 0016_rejected_lines
Create Date: 2026-12-01 14:35:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_seal_biometrics'
down_revision = '0016_rejected_lines'
branch_labels = None
depends_on = None

FERNET_PREFIX = b"gAAAAA"  # every Fernet token starts so (version byte 0x80, base64)


def upgrade() -> None:
    from hub.adapters.adms.quarantine import SEALED_FIELDS
    from hub.push.service import SEALED_KEYS
    from hub.secrets import blank_sealed, encrypt, seal_tree

    bind = op.get_bind()
    meta = sa.MetaData()
    photos = sa.Table("push_photos", meta, autoload_with=bind)
    records = sa.Table("push_user_records", meta, autoload_with=bind)
    commands = sa.Table("device_commands", meta, autoload_with=bind)
    for row in bind.execute(sa.select(photos.c.id, photos.c.content)).all():
        content = bytes(row.content or b"")
        if content and not content.startswith(FERNET_PREFIX):
            bind.execute(photos.update().where(photos.c.id == row.id).values(content=encrypt(content)))
    for row in bind.execute(sa.select(records.c.id, records.c.fields)).all():
        sealed = seal_tree(row.fields or {}, SEALED_FIELDS)
        if sealed != row.fields:
            bind.execute(records.update().where(records.c.id == row.id).values(fields=sealed))
    for row in bind.execute(sa.select(commands.c.id, commands.c.payload, commands.c.status)).all():
        sealed = seal_tree(row.payload or {}, SEALED_KEYS)
        if row.status == "done":
            sealed = blank_sealed(sealed)
        if sealed != row.payload:
            bind.execute(commands.update().where(commands.c.id == row.id).values(payload=sealed))


def downgrade() -> None:
    pass  # the data stays sealed: opening it again would put biometrics back in clear
