"""Backups of the store and restores into an empty database.

PostgreSQL goes through pg_dump's custom format, taken inside an exported snapshot so that
the row counts written beside it are exactly what the dump holds; SQLite through its online
backup API (the hub may keep writing meanwhile). Each backup is a file and a manifest
(`.json`: backend, migration revision, row count of every table, SHA-256 of the file, the
id of the encryption key). The key itself is never in a backup: a stolen backup without the
key gives no templates, faces or terminal passwords; the manifest's key id lets a restore
say when the key at hand is not the one the data was sealed with.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from hub.i18n import tr
from hub.store.db import current_revision, libpq, make_engine

FORMAT = 1
PREFIX = "hub-"


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says what to do."""


@dataclass
class Manifest:
    backend: str
    revision: str | None
    created_at: str
    tables: dict[str, int]
    file: str
    sha256: str = ""
    size: int = 0
    key_id: str = ""
    format: int = FORMAT
    seconds: float = 0.0

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not an object")
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            m = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
            if not (isinstance(m.backend, str) and isinstance(m.created_at, str) and isinstance(m.file, str)
                    and m.file.startswith(PREFIX) and "/" not in m.file and isinstance(m.tables, dict)
                    and all(isinstance(k, str) and isinstance(v, int) for k, v in m.tables.items())):
                raise ValueError("fields of the wrong kind")
            datetime.fromisoformat(m.created_at)
            return m
        except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise BackupError(tr(f"manifes cadangan {path} tidak terbaca ({exc}); pakai berkas .json yang dibuat "
                                 "`hub backup` bersama cadangannya",
                                 f"backup manifest {path} unreadable ({exc}); use the .json `hub backup` wrote "
                                 "beside the backup")) from exc


@dataclass
class Restored:
    manifest: Manifest
    tables: dict[str, int] = field(default_factory=dict)
    differs: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (manifest, restored)
    key_matches: bool = True


def key_id() -> str:
    """Names the encryption key without revealing it (hash of a hash, domain-separated)."""
    from hub.secrets import _key  # noqa: PLC0415 - the key's bytes, read once here

    return hashlib.sha256(b"hub-key-id\x00" + hashlib.sha256(_key()).digest()).hexdigest()[:16]


def table_counts(conn: Any) -> dict[str, int]:
    """Every table of the store (the hub's, Alembic's, the scheduler's) and its rows."""
    names = sorted(inspect(conn).get_table_names())
    quote = conn.dialect.identifier_preparer.quote
    return {n: int(conn.execute(text(f"SELECT COUNT(*) FROM {quote(n)}")).scalar_one()) for n in names}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore and the environment carrying the
    password (never on the command line, where `ps` would show it)."""
    conninfo, password = libpq(url)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    return conninfo, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(tr(f"{name} tidak ada di mesin ini; pasang klien PostgreSQL (`apt-get install "
                             "postgresql-client`, versi yang sama atau lebih baru dari server)",
                             f"{name} is not on this machine; install the PostgreSQL client (`apt-get install "
                             "postgresql-client`, the server's version or newer)"))
    return found


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(tr(f"{Path(cmd[0]).name} gagal: {done.stderr.strip()[-600:]}",
                             f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-600:]}"))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backup(url: str, out_dir: Path, keep: int | None = None,
           progress: Callable[[str], None] = lambda _s: None) -> Manifest:
    """One backup of the store at `url` into `out_dir` (created 0700); then, with `keep`,
    only the newest `keep` backups of that folder are kept."""
    started = time.monotonic()
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        backend = engine.dialect.name
        name = f"{PREFIX}{backend}-{_stamp()}.{'dump' if backend == 'postgresql' else 'sqlite3'}"
        target = out_dir / name
        part = out_dir / f".{name}.part"
        progress(tr("menyalin basis data", "copying the database"))
        if backend == "postgresql":
            tables, revision = _dump_postgres(engine, url, part)
        elif backend == "sqlite":
            tables, revision = _copy_sqlite(engine, part)
        else:
            raise BackupError(tr(f"basis data {backend} tidak didukung", f"database {backend} is not supported"))
        os.chmod(part, 0o600)
        progress(tr("menghitung sidik berkas", "checksumming the file"))
        manifest = Manifest(backend=backend, revision=revision, created_at=datetime.now(UTC).isoformat(),
                            tables=tables, file=name, sha256=_sha256(part), size=part.stat().st_size,
                            key_id=key_id())
        os.replace(part, target)
        manifest.seconds = round(time.monotonic() - started, 3)
        manifest.write(target.with_suffix(".json"))
        os.chmod(target.with_suffix(".json"), 0o600)
    finally:
        engine.dispose()
    if keep is not None:
        prune(out_dir, keep)
    return manifest


def _dump_postgres(engine: Engine, url: str, part: Path) -> tuple[dict[str, int], str | None]:
    pg_dump = _tool("pg_dump")
    conninfo, env = _libpq(url)
    with engine.connect() as conn:
        # the counts and the dump see the same snapshot, held open until pg_dump has it
        conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        tables = table_counts(conn)
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() \
            if "alembic_version" in tables else None
        _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              f"--file={part}", f"--dbname={conninfo}"], env)
        conn.exec_driver_sql("COMMIT")
    return tables, revision


def _copy_sqlite(engine: Engine, part: Path) -> tuple[dict[str, int], str | None]:
    source = make_url(str(engine.url)).database
    if not source or source == ":memory:" or not Path(source).exists():
        raise BackupError(tr(f"berkas SQLite {source} tidak ada", f"SQLite file {source} does not exist"))
    part.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(part)
    try:
        src.backup(dst, pages=4096)  # in steps: writers are let in between
    finally:
        dst.close()
        src.close()
    copy = make_engine(f"sqlite:///{part}")
    try:
        with copy.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            tables = table_counts(conn)
        revision = current_revision(copy)
    finally:
        copy.dispose()
    return tables, revision


def backups(out_dir: Path) -> list[Manifest]:
    """The backups of a folder, oldest first (by their manifests)."""
    found = []
    for path in sorted(out_dir.glob(f"{PREFIX}*.json")):
        try:
            found.append(Manifest.read(path))
        except BackupError:
            continue  # (not one of ours: left alone)
    return sorted(found, key=lambda m: m.created_at)


def prune(out_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` backups (file and manifest); returns the files gone."""
    gone, found = [], backups(out_dir)
    for m in found[:max(0, len(found) - max(1, keep))]:
        (out_dir / m.file).unlink(missing_ok=True)
        (out_dir / m.file).with_suffix(".json").unlink(missing_ok=True)
        gone.append(m.file)
    return gone


# --- restore -----------------------------------------------------------------------------------


def manifest_of(path: Path) -> Manifest:
    return Manifest.read(path if path.suffix == ".json" else path.with_suffix(".json"))


def restore(path: Path, url: str, allow_other_key: bool = False,
            progress: Callable[[str], None] = lambda _s: None) -> Restored:
    """Restore the backup at `path` (its file or its manifest) into the EMPTY database at
    `url`, then count every table against the manifest."""
    manifest = manifest_of(path)
    data = path.with_name(manifest.file)
    if not data.exists():
        raise BackupError(tr(f"berkas cadangan {data} tidak ada", f"backup file {data} is missing"))
    progress(tr("memeriksa sidik berkas", "checking the file's checksum"))
    if _sha256(data) != manifest.sha256:
        raise BackupError(tr(f"berkas {data.name} rusak atau berubah (SHA-256 tidak sama dengan manifes); "
                             "pakai cadangan lain", f"file {data.name} is damaged or changed (SHA-256 differs "
                             "from the manifest); use another backup"))
    key_matches = manifest.key_id == key_id()
    if not key_matches and not allow_other_key:
        raise BackupError(tr("kunci enkripsi saat ini bukan kunci cadangan ini: template, foto wajah dan sandi "
                             "terminal tidak akan terbuka. Pasang kunci lama (HUB_SECRET_KEY atau var/secret.key) "
                             "lalu ulangi, atau tambahkan --other-key bila memang disengaja",
                             "the encryption key in use is not this backup's: templates, face photos and terminal "
                             "passwords would not open. Put the old key back (HUB_SECRET_KEY or var/secret.key) "
                             "and retry, or add --other-key if that is intended"))
    engine = make_engine(url)
    try:
        if engine.dialect.name != manifest.backend:
            raise BackupError(tr(f"cadangan ini dari {manifest.backend}, basis data tujuan {engine.dialect.name}",
                                 f"this backup is from {manifest.backend}, the target is {engine.dialect.name}"))
        with engine.connect() as conn:
            there = inspect(conn).get_table_names()
        if there:
            raise BackupError(tr(f"basis data tujuan tidak kosong ({len(there)} tabel); pulihkan ke basis data "
                                 "baru yang kosong, lalu arahkan HUB_DATABASE_URL ke sana",
                                 f"the target database is not empty ({len(there)} tables); restore into a new, "
                                 "empty database, then point HUB_DATABASE_URL at it"))
        progress(tr("memulihkan", "restoring"))
        if manifest.backend == "postgresql":
            conninfo, env = _libpq(url)
            _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  f"--dbname={conninfo}", str(data)], env)
        else:
            _restore_sqlite(engine, data)
        progress(tr("menghitung baris", "counting rows"))
        with engine.connect() as conn:
            tables = table_counts(conn)
    finally:
        engine.dispose()
    differs = {t: (manifest.tables.get(t, -1), tables.get(t, -1))
               for t in sorted(set(manifest.tables) | set(tables))
               if manifest.tables.get(t, -1) != tables.get(t, -1)}
    return Restored(manifest, tables, differs, key_matches)


def _restore_sqlite(engine: Engine, data: Path) -> None:
    target = make_url(str(engine.url)).database
    if not target or target == ":memory:":
        raise BackupError(tr("SQLite tujuan harus berkas", "the SQLite target must be a file"))
    engine.dispose()
    src = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")  # as the hub runs it
    finally:
        dst.close()
        src.close()

