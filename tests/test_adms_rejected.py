"""Never acknowledge what is not kept (issue 21, item 3): an ADMS batch with bad lines is
answered OK only once its good lines are stored and its bad ones are kept verbatim
(encrypted) with their reason; a person lists them, replays them after a fix (stored
exactly once) or dismisses them with a reason. Over real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from hub.adapters.adms import quarantine
from hub.protocols import adms
from hub.push.models import RejectedLine
from hub.secrets import decrypt
from tests.push_fixtures import AdmsServer, add_push_devices, count_punches

GOOD = "0101\t2026-11-20 07:01:02\t0\t15\t0\t0\t0\n"
BAD_DATE = "0102\t2026-02-30 07:03:00\t0\t1\t0\t0\t0\n"
SLASHED = "0103\t2026/11/20 07:05:00\t0\t1\t0\t0\t0\n"  # a firmware's other time format


@pytest.fixture
def http(engine: Engine) -> Iterator[httpx.Client]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        yield c
    srv.stop()


def _post(http: httpx.Client, body: str, stamp: str) -> httpx.Response:
    return http.post("/iclock/cdata", params={"SN": "REJ1", "table": "ATTLOG", "Stamp": stamp}, content=body.encode())


def test_bad_lines_are_kept_verbatim_listed_replayed_once_or_dismissed(engine: Engine, http: httpx.Client,
                                                                      monkeypatch) -> None:
    add_push_devices(engine, "adms", ["REJ1"])
    r = _post(http, GOOD + BAD_DATE + SLASHED + "garbage\x00line\n", "5")
    assert r.status_code == 200 and r.text == "OK: 1"
    assert count_punches(engine) == 1
    with engine.connect() as conn:
        rows = conn.execute(select(RejectedLine).order_by(RejectedLine.line_no)).all()
    assert [decrypt(x.line_enc).decode() for x in rows] == [BAD_DATE.rstrip("\n"), SLASHED.rstrip("\n"),
                                                             "garbage\x00line"]
    assert all(x.status == "held" and x.stamp == "5" for x in rows)
    assert "2026-02-30" in rows[0].reason and "line 2" in rows[0].reason
    assert all(BAD_DATE.encode()[:8] not in x.line_enc for x in rows)  # encrypted at rest
    # an all-bad batch is kept too, and acknowledged (the terminal is not wedged on it)
    assert _post(http, "only garbage\n", "6").text == "OK: 0"

    from hub.cli.main import app as cli

    runner = CliRunner()
    out = runner.invoke(cli, ["push", "rejected", "--device", "REJ1", "--format", "json"])
    assert out.exit_code == 0 and "2026-02-30" in out.stdout and out.stdout.count('"status": "held"') == 4
    # nothing parses differently yet: replaying keeps them held
    assert runner.invoke(cli, ["push", "replay", "--device", "REJ1"]).exit_code == 2
    assert count_punches(engine) == 1
    # the parser learns the slashed format: replay stores that line, once
    plain = adms.parse_attlog_line
    monkeypatch.setattr(adms, "parse_attlog_line",
                        lambda line, n=1: plain(line.replace("2026/11/20", "2026-11-20"), n))
    slashed_id = rows[1].id
    res = quarantine.replay(engine, [slashed_id], "tester")
    assert (res.stored, res.punches_new, res.still_bad) == (1, 1, 0)
    assert quarantine.replay(engine, [slashed_id], "tester").stored == 0  # replayed already
    assert count_punches(engine) == 2
    # the rest is dismissed with a reason, audited
    r = runner.invoke(cli, ["push", "dismiss", str(rows[0].id), str(rows[2].id), "--reason",
                            "jam terminal salah sebelum disetel"])
    assert r.exit_code == 0 and "2" in r.output
    left = [h.line for h in quarantine.held(engine, "REJ1")]
    assert left == ["only garbage"]


def test_templates_in_rejected_operlog_lines_are_masked_when_shown(engine: Engine, http: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["REJ2"])
    body = "FP PIN=1\tFID=6\tSize=4\tValid=1\tTMP=U1MyMQ==\nFP PIN=\tFID=6\tTMP=U1MyMQ==\nNOTAKIND x=1\n"
    r = http.post("/iclock/cdata", params={"SN": "REJ2", "table": "OPERLOG", "Stamp": "1"}, content=body.encode())
    assert r.status_code == 200 and r.text == "OK: 1"
    shown = [h.line for h in quarantine.held(engine, "REJ2")]
    assert shown == ["FP PIN=\tFID=6\tTMP=…", "NOTAKIND x=1"]  # the template is not shown
    with engine.connect() as conn:
        assert all(b"U1MyMQ" not in x for x in conn.scalars(select(RejectedLine.line_enc)))
    assert quarantine.masked("BIOPHOTO PIN=1\tContent=/9j/4AAQ\tNo=0") == "BIOPHOTO PIN=1\tContent=…\tNo=0"


def _fail_on_pin(engine: Engine, pin: str) -> None:
    """A real storage failure: the database refuses one PIN's row (a trigger)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(f"CREATE TRIGGER boom BEFORE INSERT ON raw_punches WHEN NEW.pin = '{pin}' "
                                 "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        else:
            conn.exec_driver_sql("CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                                 f"IF NEW.pin = '{pin}' THEN RAISE EXCEPTION 'disk says no'; END IF; "
                                 "RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER boom BEFORE INSERT ON raw_punches "
                                 "FOR EACH ROW EXECUTE FUNCTION boom()")


def _heal(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER boom" if engine.dialect.name == "sqlite" else
                             "DROP TRIGGER boom ON raw_punches")


def test_a_large_batch_is_stored_in_parts_and_ok_only_after_the_last(engine: Engine) -> None:
    from sqlalchemy import func

    from hub.push.models import PushStamp
    from hub.store.models import IngestRun

    add_push_devices(engine, "adms", ["REJ1"])
    lines = [f"{1000 + i % 700}\t2026-11-{1 + i // 700:02d} 07:{i % 60:02d}:00\t0\t15\t0\t0\t0\n"
             for i in range(3500)]
    lines[2600] = "9999\t2026-11-04 07:00:00\t0\t15\t0\t0\t0\n"  # in the third part
    body = "".join(lines) + BAD_DATE
    srv = AdmsServer(engine, part_rows=1000).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            _fail_on_pin(engine, "9999")
            r = _post(http, body, "42")
            assert r.status_code == 500 and not r.text.startswith("OK")  # the terminal keeps the batch
            with engine.connect() as conn:
                assert conn.scalar(select(func.count()).select_from(PushStamp)) == 0  # cursor not moved
                assert conn.scalar(select(func.count()).select_from(RejectedLine)) == 0
            assert count_punches(engine) == 2000  # the two parts before the failure
            _heal(engine)
            r = _post(http, body, "42")  # the terminal resends the whole batch
            assert r.text == "OK: 3500"
            r = _post(http, body, "42")  # and once more, its OK lost
            assert r.text == "OK: 3500"
    finally:
        srv.stop()
    assert count_punches(engine) == 3500  # every punch once
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RejectedLine)) == 1  # the bad line once
        assert conn.scalar(select(PushStamp.stamp)) == "42"
        parts = conn.scalars(select(IngestRun.details).where(IngestRun.status == "ok")
                             .order_by(IngestRun.id)).all()
    assert [p.get("part") for p in parts[2:6]] == ["1/4", "2/4", "3/4", "4/4"]
