"""Alembic migrations and the models agree, on SQLite and PostgreSQL, and go both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hub.store.db import downgrade, head_revision, make_engine, reset_engines, upgrade
from hub.store.models import Base

FOREIGN_TABLES = {"apscheduler_jobs"}  # created by APScheduler's job store, not by us


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    return not (type_ == "table" and name in FOREIGN_TABLES)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
    else:
        dbs = request.getfixturevalue("pg_databases")
        url = dbs.create()
        yield url
        reset_engines()
        dbs.drop(url.rsplit("/", 1)[1])


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": include_object})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_autogenerate_finds_no_difference(empty_url: str) -> None:
    upgrade(empty_url)
    assert _diff(empty_url) == []


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    tables = set(inspect(engine).get_table_names())
    assert {"raw_punches", "devices", "employees", "pin_mappings", "templates",
            "corrections", "audit_log", "ingest_runs", "sites"} <= tables
    engine.dispose()
    downgrade(empty_url, "base")
    engine = make_engine(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(empty_url)
    assert _diff(empty_url) == []
    engine = make_engine(empty_url)
    from hub.store.db import current_revision

    assert current_revision(engine) == head_revision(empty_url)
    engine.dispose()
