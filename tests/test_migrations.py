"""Alembic migrations and the models agree, on SQLite and PostgreSQL, and go both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hub.schema import metadata
from hub.store.db import downgrade, head_revision, include_object, make_engine, upgrade


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": include_object})
            return compare_metadata(ctx, metadata)
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


def test_punch_index_migration_keeps_rows_and_what_points_at_them(empty_url: str) -> None:
    """0008 rebuilds raw_punches on SQLite: punches, and the review and correction rows that
    point at them (ON DELETE CASCADE / RESTRICT), must come through untouched."""
    from datetime import date, datetime

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from hub.face.models import FaceReview
    from hub.store.models import Correction, Employee, RawPunch

    upgrade(empty_url, "0007_reconcile")
    engine = make_engine(empty_url)
    with Session(engine) as s:
        # (the device row as 0007 knew it: today's model has columns that came later)
        dev_id = s.execute(text(
            "insert into devices (serial, name, kind, port, tz, enabled, pin_group, capabilities, status, "
            "created_at) values ('SN1', 'T', 'zk-tcp', 4370, 'Asia/Jakarta', true, 'default', '{}', 'active', "
            "'2026-10-01 00:00:00') returning id")).scalar_one()
        emp = Employee(id_number="E1", employment_type="non_asn", name="P")
        s.add(emp)
        s.flush()
        punches = [RawPunch(device_id=dev_id, source="zk_tcp", pin="1", employee_id=emp.id,
                            local_time=datetime(2026, 10, d, 7), tz="Asia/Jakarta",
                            utc_time=datetime(2026, 10, d), state="check_in", verify="fingerprint",
                            raw={}, flags=0) for d in (1, 2, 3)]
        s.add_all(punches)
        s.flush()
        s.add(Correction(employee_id=emp.id, day=date(2026, 10, 1), kind="void_punch",
                         punch_id=punches[0].id, reason="r", author="a"))
        s.add(FaceReview(kind="mismatch", employee_id=emp.id, punch_id=punches[1].id,
                         threshold=0.5))
        s.commit()
        first, second = punches[0].id, punches[1].id
    engine.dispose()
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM raw_punches")).scalar() == 3
        assert conn.execute(text("SELECT punch_id FROM corrections")).scalar() == first
        assert conn.execute(text("SELECT punch_id FROM face_reviews")).scalar() == second
        names = {ix["name"] for ix in inspect(conn).get_indexes("raw_punches")}
        assert "ix_raw_punches_employee_local" in names and "ix_raw_punches_utc" not in names
        uniques = {u["name"]: u["column_names"] for u in inspect(conn).get_unique_constraints(
            "raw_punches")}
        assert uniques["uq_raw_punches_identity"] == ["device_id", "local_time", "pin", "state",
                                                      "verify"]
    engine.dispose()
    downgrade(empty_url, "0007_reconcile")
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM raw_punches")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM face_reviews")).scalar() == 1
    engine.dispose()


def test_biometrics_stored_in_clear_before_0017_are_sealed_by_it(empty_url: str, settings) -> None:  # noqa: ARG001
    """(`settings` gives the hub its key, as `hub db upgrade` has.)"""
    import json

    from sqlalchemy import text

    from hub.secrets import decrypt, unseal_tree

    upgrade(empty_url, "0016_rejected_lines")
    engine = make_engine(empty_url)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    with engine.begin() as conn:
        dev = conn.execute(text(
            "insert into devices (serial, name, kind, port, tz, enabled, pin_group, capabilities, status, created_at,"
            " failures) values ('OLD1', 'T', 'adms', 0, 'Asia/Jakarta', true, 'default', '{}', 'active',"
            " '2026-10-01 00:00:00', 0) returning id")).scalar_one()
        conn.execute(text("insert into push_photos (device_id, kind, pin, file_name, content, sha256, received_at)"
                          " values (:d, 'biophoto', '7', '7.jpg', :c, 'x', '2026-10-01 00:00:00')"),
                     {"d": dev, "c": jpeg})
        conn.execute(text("insert into push_user_records (device_id, kind, pin, fields, received_at) values"
                          " (:d, 'USER', '7', :f, '2026-10-01 00:00:00')"),
                     {"d": dev, "f": json.dumps({"PIN": "7", "Card": "12345678", "Passwd": "rahasia77"})})
        for status in ("queued", "done"):
            conn.execute(text(
                "insert into device_commands (device_id, channel, op, payload, status, attempts, created_at,"
                " expires_at, created_by) values (:d, 'adms', 'face.set', :p, :s, 0, '2026-10-01 00:00:00',"
                " '2026-10-02 00:00:00', 'old')"),
                {"d": dev, "s": status, "p": json.dumps({"user_id": "7", "photo": {"b64": "L9j/4AAQSkZJRg=="}})})
    engine.dispose()
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        content = bytes(conn.execute(text("select content from push_photos")).scalar_one())
        fields = conn.execute(text("select fields from push_user_records")).scalar_one()
        payloads = dict(conn.execute(text("select status, payload from device_commands")).all())
    engine.dispose()
    fields = json.loads(fields) if isinstance(fields, str) else fields
    payloads = {k: json.loads(v) if isinstance(v, str) else v for k, v in payloads.items()}
    assert decrypt(content) == jpeg and jpeg[:4] not in content
    assert "12345678" not in json.dumps(fields) and unseal_tree(fields)["Card"] == "12345678"
    assert payloads["queued"]["photo"]["b64"].startswith("enc:")
    assert unseal_tree(payloads["queued"])["photo"]["b64"] == "L9j/4AAQSkZJRg=="
    assert payloads["done"]["photo"]["b64"] == "[dihapus setelah dikonfirmasi]"
