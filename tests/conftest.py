"""Shared fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: HUB_TEST_POSTGRES_URL (default: the local server's `test` database). Each test
session creates its own database from it and drops it at the end. When the server cannot
be reached the PostgreSQL cases are skipped with the reason printed, except under CI=true,
where they fail: CI must never skip them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from hub.config import Settings, set_settings
from hub.store.db import make_engine, reset_engines, upgrade
from hub.store.models import Base

PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}: {exc}"


_PG_PROBLEM = _pg_reachable()


def require_postgres() -> None:
    if _PG_PROBLEM:
        if IN_CI:
            pytest.fail(_PG_PROBLEM + " (CI must run the PostgreSQL tests)")
        pytest.skip(_PG_PROBLEM)


class PgDatabases:
    """Creates throw-away databases on the test server."""

    def __init__(self) -> None:
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"hubtest_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            tmpl = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{tmpl}'))
        self.created.append(name)
        return self.url(name)

    def url(self, name: str) -> str:
        base, _ = PG_ADMIN_URL.rsplit("/", 1)
        return f"{base}/{name}"

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self.created:
            with contextlib.suppress(Exception):  # best-effort clean-up
                self.drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    require_postgres()
    dbs = PgDatabases()
    yield dbs
    dbs.close()


@pytest.fixture(scope="session")
def pg_template(pg_databases: PgDatabases) -> str:
    """A migrated database that per-test databases are copied from."""
    url = pg_databases.create()
    upgrade(url)
    name = url.rsplit("/", 1)[1]
    reset_engines()
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    reset_engines()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated store on the backend under test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hub.sqlite3"
        path.write_bytes(template.read_bytes())
        yield f"sqlite:///{path}"
    else:
        dbs: PgDatabases = request.getfixturevalue("pg_databases")
        name = request.getfixturevalue("pg_template")
        url = dbs.create(template=name)
        yield url
        reset_engines()
        dbs.drop(url.rsplit("/", 1)[1])


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (no tables) on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
    else:
        dbs: PgDatabases = request.getfixturevalue("pg_databases")
        url = dbs.create()
        yield url
        reset_engines()
        dbs.drop(url.rsplit("/", 1)[1])


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Process settings pointing at the test store, with a var dir of the test's own."""
    s = Settings(database_url=db_url, var_dir=str(tmp_path / "var"),
                 secret_key="x" * 43 + "=")
    from cryptography.fernet import Fernet

    s.secret_key = Fernet.generate_key().decode()
    set_settings(s)
    yield s
    set_settings(None)
    reset_engines()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()


__all__ = ["Base", "require_postgres"]
