"""Engines and sessions for SQLite (embedded default, WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub.config import get_settings
from hub.store import audit_office  # noqa: F401 - audit records learn their office when written

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # Only a new, empty database takes it (before WAL): 8 KiB pages cut the index pages a
    # bulk ingest rewrites by about a tenth.
    cur.execute("PRAGMA page_size=8192")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # A bigger page cache keeps the punch indexes in memory during bulk ingest.
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _private_file(path: Path) -> None:
    """The store holds people's data: a new folder is 0700, the file 0600 (SQLite gives its
    -wal and -shm files the same mode as the database file)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif path.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):  # a file of another owner: leave it, say so in hub doctor
            path.chmod(0o600)


def libpq(url: str) -> tuple[str, str | None]:
    """A PostgreSQL URL as libpq takes it (pg_dump, psycopg itself: no "+psycopg") and its
    password apart, so that it can travel in PGPASSWORD rather than on a command line."""
    u = make_url(normalise_url(url))
    return u.set(drivername="postgresql", password=None).render_as_string(hide_password=False), \
        (str(u.password) if u.password else None)


def make_engine(url: str | None = None, **kwargs) -> Engine:  # type: ignore[no-untyped-def]
    url = normalise_url(url or get_settings().effective_database_url())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


_engines: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    key = normalise_url(url or get_settings().effective_database_url())
    if key not in _engines:
        _engines[key] = make_engine(key)
    return _engines[key]


def reset_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(engine or get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url or get_settings().effective_database_url()), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url or get_settings().effective_database_url()), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str | None = None) -> str | None:
    from alembic.script import ScriptDirectory

    cfg = alembic_config(url or get_settings().effective_database_url())
    return ScriptDirectory.from_config(cfg).get_current_head()


def write_probe(engine: Engine, actor: str) -> None:
    """Can the hub read and write its store? An audit row written and rolled back; raises
    what the database said (a store that reads but does not write loses punches)."""
    from sqlalchemy import insert, text  # noqa: PLC0415

    from hub.store.models import AuditLog, utcnow  # noqa: PLC0415

    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("SELECT 1"))
        conn.execute(insert(AuditLog).values(at=utcnow(), actor=actor, action=actor, entity="hub", entity_id=None,
                                             details={}))
        tx.rollback()


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("raw_punches")


# Tables that belong to libraries (APScheduler's job store creates its own; procrastinate's
# task queue, migration 0027, its procrastinate_* tables on PostgreSQL).
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})
FOREIGN_PREFIXES = ("procrastinate_",)
# raw_punches' month partitions on PostgreSQL (migration 0028): the parent is the model.
PARTITION = re.compile(r"^raw_punches_(\d{4}_\d{2}|default)$")


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """What Alembic compares between the models and a database (migrations and tests)."""
    from hub.store.models import TRIGGER_KEPT_KEYS

    if type_ == "foreign_key_constraint" and name in TRIGGER_KEPT_KEYS:
        return False  # triggers keep them on PostgreSQL (migration 0009)
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table in FOREIGN_TABLES or str(table).startswith(FOREIGN_PREFIXES)
                or PARTITION.match(str(table)))
