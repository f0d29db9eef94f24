"""Backups and restores (issue 22, item 2), on SQLite and PostgreSQL: a loaded store (offices,
terminals with encrypted logins, a month of punches through the ingest, leave, approved
corrections, quarantine decisions, reconciled days, job runs, the scheduler's table) is
backed up by `hub backup` while the hub could be writing, restored by `hub restore` into an
empty database, and every row of every table is the same; the restored store gives the
same recap figures and opens what was encrypted. A damaged file, a non-empty target and
another key are refused with what to do; retention keeps the newest N; `hub db upgrade`
backs up first."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import DateTime, bindparam, inspect, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.cli.main import app
from hub.config import Settings, set_settings
from hub.fleet.registry import login_of, set_login
from hub.reconcile.daily import reconcile_period
from hub.reconcile.period import month_figures
from hub.scheduler import jobs
from hub.store.backup import BackupError, backups, manifest_of, prune
from hub.store.db import make_engine, reset_engines, upgrade
from hub.store.models import Device
from tests import recap_oracle

runner = CliRunner()


def _load(engine) -> None:  # type: ignore[no-untyped-def]
    recap_oracle.seed_store(engine, recap_oracle.generate())
    reconcile_period(engine, recap_oracle.MONTH, recap_oracle.LAST)
    with Session(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == "A-1"))
        set_login(dev, "admin", "Hik12345")  # something sealed with the key
        s.commit()
    jobs.record_run("pull_full", lambda: {"pulled": 3})


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every table, every row, in one order (values as text: the two drivers agree on it)."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            out = {}
            for name in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f"SELECT * FROM {quote(name)}")).all()
                out[name] = sorted(tuple(repr(v) for v in r) for r in rows)
            return out
    finally:
        eng.dispose()


def _as(settings: Settings, url: str) -> Settings:
    other = Settings(database_url=url, var_dir=settings.var_dir, secret_key=settings.secret_key)
    set_settings(other)
    return other


def test_backup_then_restore_gives_an_identical_store(settings, engine, empty_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _load(engine)
    before = _rows(settings.database_url)
    assert sum(len(v) for v in before.values()) > 1000 and len([t for t, v in before.items() if v]) >= 12
    with Session(engine) as s:
        figures = month_figures(s, recap_oracle.MONTH)
    out = tmp_path / "backups"
    r = runner.invoke(app, ["backup", "--dir", str(out)])
    assert r.exit_code == 0, r.output
    assert "Kunci enkripsi tidak ada di cadangan" in r.output
    [m] = backups(out)
    assert m.tables == {t: len(v) for t, v in before.items()} and m.revision
    assert oct((out / m.file).stat().st_mode & 0o777) == "0o600"
    assert settings.secret_key not in json.dumps(m.__dict__) and len(m.key_id) == 16  # (only the key's id)
    raw = (out / m.file).read_bytes()
    assert settings.secret_key.encode() not in raw  # the key is never in the backup

    engine.dispose()
    _as(settings, empty_url)
    r = runner.invoke(app, ["restore", str(out / m.file)])
    assert r.exit_code == 0, r.output
    assert _rows(empty_url) == before
    restored = make_engine(empty_url)
    try:
        with Session(restored) as s:
            again = month_figures(s, recap_oracle.MONTH)
            assert again.sha256 == figures.sha256 and again.rows == figures.rows
            assert login_of(s.scalar(select(Device).where(Device.serial == "A-1"))) == ("admin", "Hik12345")
    finally:
        restored.dispose()
    # a second restore into the now full database is refused, and nothing in it changes
    r = runner.invoke(app, ["restore", str(out / m.file)])
    assert r.exit_code == 1 and "tidak kosong" in r.output
    assert _rows(empty_url) == before


def test_damage_another_key_and_retention(settings, engine, empty_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _load(engine)
    out = tmp_path / "b"
    for _ in range(3):
        assert runner.invoke(app, ["backup", "--dir", str(out), "--keep", "2"]).exit_code == 0
    kept = backups(out)
    assert len(kept) == 2 and len(list(out.iterdir())) == 4  # two files, two manifests
    assert prune(out, 1) == [kept[0].file] and len(backups(out)) == 1
    [m] = backups(out)
    engine.dispose()
    # another key: refused with what to do, the target untouched
    other = _as(settings, empty_url)
    real_key = other.secret_key
    from cryptography.fernet import Fernet

    other.secret_key = Fernet.generate_key().decode()
    r = runner.invoke(app, ["restore", str(out / m.file)])
    assert r.exit_code == 1 and "kunci enkripsi saat ini bukan kunci cadangan ini" in r.output
    other.secret_key = real_key
    # a damaged file: refused by its checksum before anything is written
    data = out / m.file
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    data.write_bytes(bytes(blob))
    r = runner.invoke(app, ["restore", str(data)])
    assert r.exit_code == 1 and "rusak atau berubah" in r.output
    probe = make_engine(empty_url)
    try:
        assert inspect(probe).get_table_names() == []
    finally:
        probe.dispose()
    assert manifest_of(data).file == m.file


def test_the_nightly_job_and_db_upgrade_back_up_first(settings, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.backup.dir = str(tmp_path / "nightly")
    settings.backup.keep = 1
    jobs.backup()
    out = jobs.backup()
    assert out["status"] == "ok" and out["rows"] > 0
    assert [m.file for m in backups(tmp_path / "nightly")] == [out["file"]]  # retention: the newest one
    settings.backup.enabled = False
    assert jobs.backup()["status"] == "skipped"
    # an upgrade with something to do backs up first and says how to roll back
    engine.dispose()
    reset_engines()
    old = Settings(database_url=f"sqlite:///{tmp_path / 'old.sqlite3'}", var_dir=str(tmp_path / "var2"),
                   secret_key=settings.secret_key)
    set_settings(old)
    upgrade(old.database_url, "0020_mobile_identity")
    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert "hub restore" in r.output
    [pre] = backups(tmp_path / "var2" / "backups")
    assert pre.revision.startswith("0020")
    r = runner.invoke(app, ["db", "upgrade"])  # nothing to do: no backup
    assert r.exit_code == 0 and len(backups(tmp_path / "var2" / "backups")) == 1


def test_a_store_from_the_first_release_upgrades_with_its_data(settings, empty_url, request, backend,  # type: ignore[no-untyped-def]
                                                               tmp_path) -> None:
    """A store created by the oldest migration, holding punches as the first release wrote
    them, is upgraded by `hub db upgrade` (after a backup) to today's schema: every row is
    there, the punch identity still refuses a double, the day reconciles; and the backup
    taken before the upgrade restores the old store, the documented way back."""
    from datetime import date, datetime

    from hub.punch import Punch, Source, State, Verify
    from hub.reconcile.models import DailyStatus
    from hub.store.db import current_revision, head_revision
    from hub.store.ingest import ingest_punches

    old = _as(settings, empty_url)
    old.var_dir = str(tmp_path / "var-old")
    upgrade(empty_url, "0001")
    eng = make_engine(empty_url)
    with eng.begin() as conn:
        conn.execute(text("insert into sites (code, name, kind, tz, created_at) values "
                          "('DINKES', 'Dinas Kesehatan', 'opd', 'Asia/Jakarta', '2026-01-05 08:00:00')"))
        conn.execute(text(
            "insert into devices (serial, name, site_id, kind, host, port, tz, enabled, pin_group, capabilities, "
            "status, created_at) values ('SN-OLD', 'Lobby', 1, 'zk-tcp', '127.0.0.1', 4370, 'Asia/Jakarta', true, "
            "'default', '{}', 'active', '2026-01-05 08:00:00')"))
        conn.execute(text(
            "insert into employees (id_number, employment_type, name, site_id, active, monthly_tpp, created_at, "
            "updated_at) values ('198001012005011001', 'pns', 'Siti', 1, true, 4000000, '2026-01-05 08:00:00', "
            "'2026-01-05 08:00:00')"))
        conn.execute(text("insert into pin_mappings (employee_id, pin, pin_group, created_at) values "
                          "(1, '101', 'default', '2026-01-05 08:00:00')"))
        for day in range(5, 10):
            for hour, state in ((7, "check_in"), (16, "check_out")):
                conn.execute(text(
                    "insert into raw_punches (device_id, source, pin, employee_id, local_time, tz, utc_time, state, "
                    "verify, raw, received_at, flags) values (1, 'zk_tcp', '101', 1, :lt, 'Asia/Jakarta', :ut, "
                    ":st, 'fingerprint', '{}', '2026-01-10 01:00:00', 0)").bindparams(  # typed, as the ORM wrote
                    bindparam("lt", type_=DateTime), bindparam("ut", type_=DateTime)),
                    {"lt": datetime(2026, 1, day, hour, 1), "ut": datetime(2026, 1, day, hour - 7, 1), "st": state})
        conn.execute(text("insert into audit_log (at, actor, action, entity, entity_id, details) values "
                          "('2026-01-05 08:00:00', 'cli:root', 'device.add', 'device', '1', '{}')"))
    eng.dispose()
    before = {t: len(v) for t, v in _rows(empty_url).items()}

    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    eng = make_engine(empty_url)
    try:
        assert current_revision(eng) == head_revision(empty_url)
        after = {t: len(v) for t, v in _rows(empty_url).items()}
        assert all(after[t] == n for t, n in before.items() if t != "alembic_version"), (before, after)
        again = ingest_punches(eng, [Punch(1, Source.ZK_TCP, "101", datetime(2026, 1, 5, 7, 1), "Asia/Jakarta",
                                           State.CHECK_IN, Verify.FINGERPRINT)])
        assert (again.new, again.duplicate) == (0, 1)
        reconcile_period(eng, date(2026, 1, 5), date(2026, 1, 9))
        with Session(eng) as s:
            days = list(s.scalars(select(DailyStatus).where(DailyStatus.employee_id == 1)))
            assert len(days) == 5 and all(d.check_in is not None and d.check_out is not None for d in days)
    finally:
        eng.dispose()
    # the way back: the backup taken before the upgrade, restored into an empty database
    [pre] = backups(tmp_path / "var-old" / "backups")
    assert pre.revision == "0001" and pre.tables["raw_punches"] == 10
    if backend == "sqlite":
        back_url = f"sqlite:///{tmp_path / 'back' / 'hub.sqlite3'}"
    else:
        back_url = request.getfixturevalue("pg_databases").create()
    _as(old, back_url)
    r = runner.invoke(app, ["restore", str(tmp_path / "var-old" / "backups" / pre.file)])
    assert r.exit_code == 0, r.output
    eng = make_engine(back_url)
    try:
        assert current_revision(eng) == "0001"
        assert {t: len(v) for t, v in _rows(back_url).items()} == before
    finally:
        eng.dispose()


@hsettings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.dictionaries(st.sampled_from(
    ["format", "backend", "revision", "created_at", "tables", "file", "sha256", "x"]),
    st.one_of(st.integers(), st.text(max_size=10), st.none(), st.just({"t": 1})), max_size=8).map(
    lambda d: json.dumps(d).encode())))
def test_a_manifest_is_read_or_refused_plainly(tmp_path_factory, body: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("m") / "hub-x.json"
    path.write_bytes(body)
    try:
        m = manifest_of(path)
    except BackupError as exc:
        assert "hub backup" in str(exc) or "`hub backup`" in str(exc)
    else:
        assert m.format == 1
