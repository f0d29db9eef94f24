"""raw_punches by month (migration 0028, hub.store.partitions), and the keys that point at a
punch, which triggers keep on PostgreSQL since the table is partitioned there.

Both databases: what points at a punch behaves as the foreign keys did (a correction keeps
its punch, reviews go with it, a selfie is released, a missing punch is refused). On
PostgreSQL also: each punch lands in its month's partition, strays in the default one; the
daily job makes months ahead and moves a month that gathered punches in the default
partition into its own, without firing what a delete does; the identity still holds across
partitions and after a move; reads of a month touch that month only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.face.models import FaceReview, MobileSelfie
from hub.punch import Punch, Source, State
from hub.reconcile.models import PunchReview
from hub.store import partitions
from hub.store.ingest import ingest_punches
from hub.store.models import Correction, RawPunch
from tests.store_helpers import make_device, make_employee, make_site


def _people(engine) -> tuple[int, int]:
    with Session(engine, expire_on_commit=False) as s:
        site = make_site(s)
        dev = make_device(s, site=site)
        emp = make_employee(s, "EMP-PART", pin="1", site=site)
        s.commit()
        return dev.id, emp.id


def _punches(dev: int, first: datetime, n: int, step: timedelta = timedelta(minutes=1)) -> list[Punch]:
    return [Punch(dev, Source.ZK_TCP, "1", first + i * step, "Asia/Jakarta", State.CHECK_IN) for i in range(n)]


def _ids(engine) -> list[int]:
    with Session(engine) as s:
        return list(s.scalars(select(RawPunch.id).order_by(RawPunch.local_time)))


def test_what_points_at_a_punch_behaves_as_its_key(engine) -> None:
    dev, emp = _people(engine)
    ingest_punches(engine, _punches(dev, datetime(2026, 11, 3, 7, 0), 4))
    kept, reviewed, selfie, plain = _ids(engine)
    with Session(engine) as s:
        s.add(Correction(employee_id=emp, day=date(2026, 11, 3), kind="void_punch", punch_id=kept,
                         reason="salah tekan", author="admin"))
        s.add(PunchReview(punch_id=reviewed, decision="accepted", reason="jam terminal", decided_by="bpkad"))
        s.add(FaceReview(kind="photo_mismatch", employee_id=emp, punch_id=reviewed, threshold=0.5))
        s.add(MobileSelfie(sha256="ab" * 32, employee_id=emp, punch_id=selfie))
        s.commit()
    # A correction keeps its punch (RESTRICT).
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(delete(RawPunch).where(RawPunch.id == kept))
    # Reviews go with their punch (CASCADE); a selfie is released (SET NULL).
    with engine.begin() as conn:
        conn.execute(delete(RawPunch).where(RawPunch.id.in_([reviewed, selfie])))
    with Session(engine) as s:
        assert s.scalars(select(PunchReview)).all() == []
        assert s.scalars(select(FaceReview)).all() == []
        assert s.scalars(select(MobileSelfie.punch_id)).all() == [None]
        assert sorted(s.scalars(select(RawPunch.id))) == sorted([kept, plain])
    # Nothing may point at a punch that is not there, by insert or by update.
    with pytest.raises(IntegrityError), Session(engine) as s:
        s.add(PunchReview(punch_id=reviewed, decision="accepted", reason="x", decided_by="bpkad"))
        s.commit()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(Correction).values(punch_id=plain + 1000))
    with Session(engine) as s:
        assert s.scalars(select(Correction.punch_id)).all() == [kept]


def test_a_punch_id_never_changes_while_pointed_at(engine, backend) -> None:
    dev, emp = _people(engine)
    ingest_punches(engine, _punches(dev, datetime(2026, 11, 3, 7, 0), 1))
    (pid,) = _ids(engine)
    with Session(engine) as s:
        s.add(PunchReview(punch_id=pid, decision="rejected", reason="x", decided_by="bpkad"))
        s.commit()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(RawPunch).values(id=pid + 500))
    assert _ids(engine) == [pid]


def _where(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM raw_punches GROUP BY 1")).all())


def test_punches_land_in_their_month_and_strays_wait_in_the_default_one(engine, backend) -> None:
    dev, emp = _people(engine)
    today = date.today()
    now = datetime.combine(today.replace(day=1), datetime.min.time()) + timedelta(hours=7)
    old = datetime(2019, 3, 1, 7, 0)
    batch = (_punches(dev, now, 10) + [Punch(dev, Source.ZK_TCP, "1", datetime(2000, 1, 1, 0, 0), "Asia/Jakarta")]
             + _punches(dev, old, 1200, timedelta(minutes=30)))
    assert ingest_punches(engine, batch).new == 1211
    if backend == "sqlite":  # one table there: nothing to make
        assert partitions.partitions(engine.connect()) == [] and partitions.ensure(engine) == []
        assert ingest_punches(engine, batch).new == 0
        return
    this_month = partitions.name_of(today)
    assert _where(engine) == {this_month: 10, "raw_punches_default": 1201}
    with engine.connect() as conn:
        names = [p.name for p in partitions.partitions(conn)]
    assert names[-1] == "raw_punches_default"
    for k in range(-partitions.BEHIND, partitions.AHEAD + 1):  # the migration made the months around today
        assert partitions.name_of(partitions.month_start(today, k)) in names
    # A review and a correction of punches in the old month must not notice their move.
    ids = _ids(engine)
    moved_ids = ids[1:3]  # ids[0] is the year-2000 stray
    with Session(engine) as s:
        s.add(PunchReview(punch_id=moved_ids[0], decision="accepted", reason="impor USB", decided_by="bpkad"))
        s.add(Correction(employee_id=emp, day=old.date(), kind="void_punch", punch_id=moved_ids[1],
                         reason="ganda", author="admin"))
        s.commit()

    made = partitions.ensure(engine, today)
    # March 2019 gathered 1,200 punches: its own partition, its rows moved; 2000 stays a stray.
    assert made == [partitions.Made("raw_punches_2019_03", 1200)]
    assert _where(engine) == {this_month: 10, "raw_punches_2019_03": 1200, "raw_punches_default": 1}
    assert _ids(engine) == ids  # the same punches, the same ids
    with Session(engine) as s:
        assert s.scalars(select(PunchReview.punch_id)).all() == [moved_ids[0]]
        assert s.scalars(select(Correction.punch_id)).all() == [moved_ids[1]]
        assert s.get(RawPunch, moved_ids[0]).local_time == old
    # The identity holds in every partition, after the move too.
    assert ingest_punches(engine, batch).new == 0
    assert sum(_where(engine).values()) == 1211
    # Nothing more to make the same day; months ahead once time has passed.
    assert partitions.ensure(engine, today) == []
    later = partitions.month_start(today, 5)
    # A terminal whose clock ran months ahead: its punch waits in the default partition,
    # and is moved when its month is made (however few punches it has).
    ahead = datetime.combine(later, datetime.min.time()) + timedelta(days=3, hours=7)
    assert ingest_punches(engine, _punches(dev, ahead, 1)).new == 1
    made = partitions.ensure(engine, later)
    assert [(m.name, m.moved) for m in made] == [
        (partitions.name_of(partitions.month_start(later, k)), int(k == 0))
        for k in range(-partitions.BEHIND, partitions.AHEAD + 1)]
    # New punches go on with the same sequence.
    assert ingest_punches(engine, _punches(dev, datetime.combine(later, datetime.min.time()), 3)).new == 3
    assert _where(engine)[partitions.name_of(later)] == 4
    assert min(_ids(engine)[-4:]) > max(ids)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has one table: nothing to prune
def test_a_month_is_read_from_its_partition_only(engine, backend) -> None:
    dev, _emp = _people(engine)
    first = date.today().replace(day=1)
    ingest_punches(engine, _punches(dev, datetime.combine(first, datetime.min.time()), 5))
    after = partitions.month_start(first, 1)
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT employee_id, local_time, id FROM raw_punches WHERE employee_id IN (1, 2) "
            "AND local_time >= :a AND local_time < :b"), {"a": first, "b": after}).scalars())
    assert partitions.name_of(first) in plan
    assert "raw_punches_default" not in plan
    assert partitions.name_of(partitions.month_start(first, -1)) not in plan


def test_the_cli_the_doctor_and_the_nightly_job_keep_the_months(settings, engine, backend) -> None:
    from typer.testing import CliRunner

    from hub.cli.main import app
    from hub.scheduler import jobs
    from hub.service import doctor

    runner = CliRunner()
    dev, _emp = _people(engine)
    ingest_punches(engine, _punches(dev, datetime(2019, 3, 1, 7, 0), partitions.MIN_ROWS, timedelta(minutes=30)))
    checks = {c.name: c for c in doctor._db(settings)}
    if backend == "sqlite":
        assert "partitions" not in checks
        r = runner.invoke(app, ["db", "partitions", "--ensure"])
        assert r.exit_code == 0 and "tidak dipartisi" in " ".join(r.output.split()), r.output
        assert jobs.partitions()["status"] == "skipped"
        return
    # The doctor sees the month waiting in the default partition and says what to run.
    assert checks["partitions"].status == doctor.WARN and "2019-03" in checks["partitions"].found
    assert "hub db partitions --ensure" in checks["partitions"].fix
    r = runner.invoke(app, ["db", "partitions", "--ensure"])
    assert r.exit_code == 0, r.output
    assert "raw_punches_2019_03" in r.output and f"{partitions.MIN_ROWS:,}" in r.output
    assert _where(engine) == {"raw_punches_2019_03": partitions.MIN_ROWS}
    assert {c.name: c for c in doctor._db(settings)}["partitions"].status == doctor.OK
    # The nightly job finds nothing left to make, and says so in its run.
    out = jobs.partitions()
    assert out["status"] == "ok" and out["made"] == [] and out["moved"] == 0
    # A hub started again after months off: `hub db upgrade` (the unit's ExecStartPre) makes them.
    ingest_punches(engine, _punches(dev, datetime(2017, 5, 1, 7, 0), partitions.MIN_ROWS, timedelta(minutes=30)))
    r = runner.invoke(app, ["db", "upgrade", "--no-backup"])
    assert r.exit_code == 0 and "raw_punches_2017_05" in r.output, r.output
    assert _where(engine)["raw_punches_2017_05"] == partitions.MIN_ROWS


def test_the_migration_moves_a_store_into_months_and_back(empty_url, backend) -> None:
    """0028 on a store holding punches and what points at them: the same rows, ids and
    references after it; each month with punches a partition, strays in the default one; new
    punches continue the ids; and its way down gives the single table with its keys back."""
    from hub.store.db import downgrade, make_engine, upgrade

    upgrade(empty_url, "0027_task_queue")
    engine = make_engine(empty_url)
    dev, emp = _people(engine)
    batch = (_punches(dev, datetime(2026, 10, 1, 7, 0), 1500, timedelta(minutes=20))
             + [Punch(dev, Source.ZK_TCP, "1", datetime(2000, 1, 1, 0, m), "Asia/Jakarta") for m in range(3)])
    assert ingest_punches(engine, batch).new == 1503
    ids = _ids(engine)
    with Session(engine) as s:
        s.add(Correction(employee_id=emp, day=date(2026, 10, 1), kind="void_punch", punch_id=ids[3],
                         reason="r", author="a"))
        s.add(PunchReview(punch_id=ids[4], decision="accepted", reason="r", decided_by="b"))
        s.add(MobileSelfie(sha256="cd" * 32, employee_id=emp, punch_id=ids[0]))
        s.commit()
    engine.dispose()

    upgrade(empty_url)
    engine = make_engine(empty_url)
    assert _ids(engine) == ids
    with Session(engine) as s:
        assert s.scalars(select(Correction.punch_id)).all() == [ids[3]]
        assert s.scalars(select(PunchReview.punch_id)).all() == [ids[4]]
    if backend == "postgresql":
        where = _where(engine)
        assert where["raw_punches_2026_10"] == 1500 and where["raw_punches_default"] == 3
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the correction still keeps its punch
        conn.execute(delete(RawPunch).where(RawPunch.id == ids[3]))
    with engine.begin() as conn:  # the stray's selfie is released, as before
        conn.execute(delete(RawPunch).where(RawPunch.id == ids[0]))
    assert ingest_punches(engine, batch).new == 1  # only the deleted stray comes back
    assert max(_ids(engine)) > max(ids)
    engine.dispose()

    downgrade(empty_url, "0027_task_queue")
    engine = make_engine(empty_url)
    assert len(_ids(engine)) == 1503
    if backend == "postgresql":
        with engine.connect() as conn:
            assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'raw_punches'")).scalar() == "r"
            keys = set(conn.execute(text("SELECT conname FROM pg_constraint WHERE confrelid = "
                                         "'raw_punches'::regclass")).scalars())
        assert keys == {f"fk_{t}_punch_id_raw_punches"
                        for t in ("corrections", "face_reviews", "mobile_selfies", "punch_reviews")}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(delete(RawPunch).where(RawPunch.id == ids[3]))
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])  # the move between partitions is PostgreSQL's
def test_a_month_moved_while_its_punches_keep_arriving_loses_and_doubles_nothing(engine, backend) -> None:
    """An old export imported in batches while the nightly job gives its month a partition:
    every batch is stored once, whether it came before, during or after the move, and no
    ingest fails for it (inserts wait the moment the move takes)."""
    import threading

    dev, _emp = _people(engine)
    old = datetime(2018, 7, 1, 7, 0)
    batches = [_punches(dev, old + timedelta(hours=6 * i), 200, timedelta(seconds=7)) for i in range(40)]
    errors: list[BaseException] = []
    first_ten = threading.Event()

    def feed() -> None:
        try:
            for i, batch in enumerate(batches):
                ingest_punches(engine, batch)
                if i == 9:
                    first_ten.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            first_ten.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    assert first_ten.wait(60)
    made = partitions.ensure(engine, date.today(), min_rows=1000)
    feeder.join(120)
    assert not feeder.is_alive() and errors == []
    assert [m.name for m in made] == ["raw_punches_2018_07"] and made[0].moved >= 2000
    assert _where(engine) == {"raw_punches_2018_07": 8000}
    assert all(ingest_punches(engine, b).new == 0 for b in batches[:3])
