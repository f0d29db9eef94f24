"""Hikvision ISAPI terminals (issue 17), pulled over real HTTP with Digest from the project's
simulator, on SQLite and PostgreSQL: every punch once with its local time and UTC right in
WIB, WITA and WIT; a gate that reads nothing when nothing changed; only new events after;
events that are not punches kept apart; a link lost mid-page, a cleared log, a clock set
back and a wrong password each handled with the store equal to the terminal's truth. Also
an ISAPI client the project did not write reading the simulator, and the parsers under
hypothesis."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.adapters.isapi.client import IsapiClient
from hub.adapters.isapi.pull import load_targets, pull_one
from hub.fleet.registry import DeviceSpec, add_device
from hub.protocols import isapi
from hub.punch import State, Verify
from hub.simulator.hikvision import CARD, FACE, FINGER, HikTerminal, Served
from hub.store.models import Device, DeviceEvent, RawPunch, Site

ZONES = {"Asia/Jakarta": 7, "Asia/Makassar": 8, "Asia/Jayapura": 9}


def _register(engine, term: HikTerminal, served: Served, tz: str = "Asia/Jakarta") -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        if s.scalar(select(Site.id).where(Site.code == "OPD-H")) is None:
            s.add(Site(code="OPD-H", name="Dinas Pendidikan", tz=tz))
            s.flush()
        add_device(s, DeviceSpec(serial=term.serial, kind="hik-isapi", site="OPD-H", host="127.0.0.1",
                                 port=served.port, tz=tz, username=term.username, password=term.password))
        s.commit()


def _pull(engine, serial: str, full: bool = False):  # type: ignore[no-untyped-def]
    [target] = load_targets(engine, serial)
    return pull_one(engine, target, full)


def _stored(engine, serial: str) -> list[RawPunch]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        dev = s.scalar(select(Device.id).where(Device.serial == serial))
        rows = list(s.scalars(select(RawPunch).where(RawPunch.device_id == dev).order_by(RawPunch.device_seq)))
        s.expunge_all()
        return rows


def _day(term: HikTerminal, n: int, start: datetime = datetime(2026, 11, 2, 7, 0)) -> None:
    """`n` punches, a minute apart, by five people, faces, fingers and cards in turn."""
    kinds = (FACE, FINGER, CARD)
    for i in range(n):
        term.punch(f"19800101200501{i % 5:04d}", start + timedelta(minutes=i), kinds[i % 3],
                   "checkIn" if i % 2 == 0 else "checkOut")


@pytest.mark.parametrize("tz", sorted(ZONES))
def test_every_punch_once_with_its_times_right(engine, tz: str) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial=f"DS-K1T-{ZONES[tz]}", utc_offset_h=ZONES[tz])
    _day(term, 95)  # more than three pages of 30
    term.stranger(datetime(2026, 11, 2, 9, 0))
    term.door_alarm(datetime(2026, 11, 2, 9, 1))
    with Served(term) as served:
        _register(engine, term, served, tz)
        first = _pull(engine, term.serial)
        assert first.ok, first.error
        assert (first.mode, first.seen, first.new, first.record_count) == ("full", 97, 95, 97)
        rows = _stored(engine, term.serial)
        assert len(rows) == 95 and [r.device_seq for r in rows] == list(range(1, 96))
        # local time as the terminal showed it, UTC by its offset
        assert rows[0].local_time == datetime(2026, 11, 2, 7, 0) and rows[0].tz == tz
        assert rows[0].utc_time == datetime(2026, 11, 2, 7, 0) - timedelta(hours=ZONES[tz])
        assert (rows[0].verify, rows[1].verify, rows[2].verify) == (Verify.FACE, Verify.FINGERPRINT, Verify.CARD)
        assert (rows[0].state, rows[1].state) == (State.CHECK_IN, State.CHECK_OUT)
        with Session(engine) as s:
            events = list(s.scalars(select(DeviceEvent).order_by(DeviceEvent.seq)))
            assert [(e.seq, e.major, e.minor, e.employee_no) for e in events] == [(96, 5, 0x4C, None),
                                                                                 (97, 1, 0x400, None)]
        # nothing new: three questions (info, count, newest), nothing read
        before = term.requests
        again = _pull(engine, term.serial)
        assert again.ok and again.mode == "unchanged" and again.seen == 0
        assert term.requests - before <= 6  # (each Digest exchange: a challenge, then the answer)
        # new punches: only those are read
        _day(term, 7, datetime(2026, 11, 2, 16, 0))
        tail = _pull(engine, term.serial)
        assert (tail.mode, tail.seen, tail.new, tail.duplicate) == ("tail", 7, 7, 0)
        assert len(_stored(engine, term.serial)) == 102


def test_a_link_lost_mid_page_stores_nothing_then_everything_once(engine) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial="DS-K1T-DROP")
    _day(term, 80)
    term.faults.drop_after_pages = 2
    with Served(term) as served:
        _register(engine, term, served)
        cut = _pull(engine, term.serial)
        assert not cut.ok and "terputus" in (cut.error or "")
        assert _stored(engine, term.serial) == []  # all or nothing: the cursor did not move
        with Session(engine) as s:
            dev = s.scalar(select(Device).where(Device.serial == term.serial))
            assert dev.failures == 1 and dev.last_seq is None and "terputus" in (dev.last_error or "")
        back = _pull(engine, term.serial)
        assert back.ok and back.new == 80
        # read again in full: the identity rule keeps each punch once
        full = _pull(engine, term.serial, full=True)
        assert full.ok and (full.new, full.duplicate) == (0, 80)
        assert len(_stored(engine, term.serial)) == 80


def test_a_cleared_log_and_a_clock_set_back(engine) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial="DS-K1T-CLR")
    _day(term, 40)
    with Served(term) as served:
        _register(engine, term, served)
        assert _pull(engine, term.serial).new == 40
        # the clock was set back an hour: new events carry times older than the newest read
        _day(term, 5, datetime(2026, 11, 2, 6, 0))
        back = _pull(engine, term.serial)
        assert back.ok and back.new == 5 and any("mundur" in n for n in back.notes), back
        # the log cleared at the device: serials start again; the new events are read, the old kept
        term.reset_log()
        _day(term, 3, datetime(2026, 11, 3, 7, 0))
        cleared = _pull(engine, term.serial)
        assert cleared.ok and cleared.log_cleared and cleared.new == 3
        assert len(_stored(engine, term.serial)) == 48
        assert _pull(engine, term.serial).mode == "unchanged"


def test_a_wrong_password_or_another_terminal_at_the_address_is_refused_clearly(engine) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial="DS-K1T-PW")
    _day(term, 3)
    with Served(term) as served:
        _register(engine, term, served)
        term.password = "diganti-di-terminal"  # noqa: S105
        refused = _pull(engine, term.serial)
        assert not refused.ok and "401" in (refused.error or "") and "--password" in (refused.error or "")
        term.password = "Hik12345"  # noqa: S105
        term.serial = "DS-K1T-OTHER"  # another terminal answers at this address
        other = _pull(engine, "DS-K1T-PW")
        assert not other.ok and "DS-K1T-OTHER" in (other.error or "")
        assert _stored(engine, "DS-K1T-PW") == []


def test_a_client_we_did_not_write_reads_the_simulator() -> None:
    """hikvisionapi (PyPI, MissiaL/hikvision-client): Basic first, then Digest, XML to dict."""
    from hikvisionapi import Client

    term = HikTerminal(serial="DS-K1T-3RD")
    _day(term, 45)
    with Served(term) as served:
        api = Client(served.url, term.username, term.password, timeout=10)
        info = api.System.deviceInfo(method="get")
        assert info["DeviceInfo"]["serialNumber"] == "DS-K1T-3RD"
        cond = isapi.search_body("third", 0, 100, datetime(2026, 11, 1, tzinfo=timezone(timedelta(hours=7))),
                                 datetime(2026, 11, 3, tzinfo=timezone(timedelta(hours=7))))
        pages, position = [], 0
        while True:
            cond["AcsEventCond"]["searchResultPosition"] = position
            text = api.AccessControl.AcsEvent(method="post", params={"format": "json"}, json=cond, present="text")
            page = json.loads(text)["AcsEvent"]
            pages.append(page["numOfMatches"])
            position += page["numOfMatches"]
            if page["responseStatusStrg"] != "MORE":
                break
        assert pages == [30, 15] and position == 45  # capped at 30 a page, whatever was asked


def test_the_client_pages_as_firmware_pages() -> None:
    term = HikTerminal(serial="DS-K1T-PG", page_cap=10)
    _day(term, 25)
    with Served(term) as served, IsapiClient("127.0.0.1", served.port, "admin", "Hik12345") as c:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        end = datetime(2026, 11, 3, tzinfo=UTC)
        first = c.search("s", 0, start, end, page=30)
        assert (first.status, len(first.events), first.total) == ("MORE", 10, 25)
        last = c.search("s", 20, start, end, page=30)
        assert (last.status, len(last.events)) == ("OK", 5)
        assert c.newest(start, end).serial_no == 25  # type: ignore[union-attr]
        none = c.search("s", 0, datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
        assert none.status == "NO MATCH" and none.events == ()


# --- the parsers: clear errors, never a crash -------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                      max_size=5), max_leaves=20)


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({"AcsEvent": st.fixed_dictionaries(
    {"responseStatusStrg": st.sampled_from(["OK", "MORE", "NO MATCH", "x"]),
     "InfoList": st.lists(st.dictionaries(st.sampled_from(["serialNo", "major", "minor", "time", "employeeNoString",
                                                           "attendanceStatus", "doorNo", "name"]), json_values),
                          max_size=3)})})))
def test_a_search_reply_is_read_or_refused_with_where(doc: object) -> None:
    try:
        page = isapi.parse_search(json.dumps(doc))
    except isapi.IsapiError as exc:
        assert exc.where or exc.what
    else:
        assert all(e.serial_no >= 1 and e.time.utcoffset() is not None for e in page.events)


@hsettings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_bytes_never_crash_the_parsers(data: bytes) -> None:
    for parse in (isapi.parse_search, isapi.parse_total, isapi.parse_status, isapi.parse_device_info):
        with contextlib.suppress(isapi.IsapiError):  # (refused with its reason, or read: never a crash)
            parse(data)


@hsettings(max_examples=200, deadline=None)
@given(st.integers(1, 2**40), st.sampled_from(sorted(isapi.PASSED) + [0x4C, 0x06]),
       st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31)),
       st.sampled_from([7, 8, 9, -3, 5.5]), st.sampled_from(sorted(isapi.STATES)),
       st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True))
def test_an_event_survives_the_round_trip(serial, minor, when, offset, attendance, employee) -> None:  # type: ignore[no-untyped-def]
    ev = isapi.Event(serial, isapi.MAJOR_ACCESS, minor, when.replace(microsecond=0, tzinfo=timezone(
        timedelta(hours=offset))), employee, attendance=attendance)
    back = isapi.parse_event(json.loads(json.dumps(ev.as_dict())))
    assert back == ev and back.time == ev.time
    assert (back.verify is None) == (minor not in isapi.PASSED)


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_a_digest_header_is_read_or_refused(text: str) -> None:
    try:
        params = isapi.parse_digest("Digest " + text)
    except isapi.IsapiError:
        return
    assert "realm" in params and "nonce" in params


def test_the_digest_answer_matches_what_httpx_sends() -> None:
    challenge = 'Digest realm="DS-K1T341AMF", qop="auth", nonce="abc123", opaque="o", algorithm="MD5"'
    params = {**isapi.parse_digest(challenge), "username": "admin", "uri": "/ISAPI/System/deviceInfo", "nc": "00000001",
              "cnonce": "c0ffee"}
    import hashlib

    ha1 = hashlib.md5(b"admin:DS-K1T341AMF:Hik12345").hexdigest()  # noqa: S324 - RFC 2617's own example shape
    ha2 = hashlib.md5(b"GET:/ISAPI/System/deviceInfo").hexdigest()  # noqa: S324
    want = hashlib.md5(f"{ha1}:abc123:00000001:c0ffee:auth:{ha2}".encode()).hexdigest()  # noqa: S324
    assert isapi.digest_expected(params, "GET", "Hik12345") == want


def test_registration_asks_for_the_login_and_keeps_it_encrypted(engine) -> None:  # type: ignore[no-untyped-def]
    from hub.fleet.registry import RegistryError, edit_device, login_of

    with Session(engine) as s:
        with pytest.raises(RegistryError, match="kata sandi terminal wajib|password is required"):
            add_device(s, DeviceSpec(serial="DS-NOPW", kind="hik-isapi", host="10.1.2.3", username="admin"))
        d = add_device(s, DeviceSpec(serial="DS-OK", kind="hik-isapi", host="10.1.2.3", username="admin",
                                     password="Rahasia-1"))
        assert d.port == 80 and b"Rahasia" not in (d.login_enc or b"") and login_of(d) == ("admin", "Rahasia-1")
        assert edit_device(s, d, {"password": "Baru-2"}) == {"login": "********"}
        assert login_of(d) == ("admin", "Baru-2")
        s.commit()
        assert s.scalar(select(func.count()).select_from(Device).where(Device.kind == "hik-isapi")) == 1


def test_the_cli_registers_pulls_and_the_recap_counts_a_hikvision_terminal(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`hub device add --kind hik-isapi`, `hub pull`, `hub recap`: a Hikvision terminal's
    employees are counted like any other's (the one reconciler)."""
    import csv as csvmod

    from typer.testing import CliRunner

    from hub.cli.main import app
    from hub.store.models import Employee, PinMapping

    with Session(engine) as s:
        site = Site(code="OPD-H", name="Dinas Pendidikan", tz="Asia/Makassar")
        s.add(site)
        s.flush()
        for nip, name in (("198001012005011001", "Ani"), ("198001012005011002", "Budi")):
            e = Employee(id_number=nip, employment_type="pns", name=name, site_id=site.id, monthly_tpp=3_000_000)
            s.add(e)
            s.flush()
            s.add(PinMapping(employee_id=e.id, pin=nip, pin_group="default"))
        s.commit()
    term = HikTerminal(serial="DS-K1T-CLI", utc_offset_h=8)
    term.punch("198001012005011001", datetime(2026, 11, 2, 7, 20), FACE, "checkIn")
    term.punch("198001012005011001", datetime(2026, 11, 2, 16, 5), FACE, "checkOut")
    term.punch("198001012005011002", datetime(2026, 11, 2, 7, 45), FINGER, "checkIn")
    term.punch("198001012005011002", datetime(2026, 11, 2, 16, 10), FINGER, "checkOut")
    term.stranger(datetime(2026, 11, 2, 8, 0))
    runner = CliRunner()
    with Served(term) as served:
        out = runner.invoke(app, ["device", "add", term.serial, "--kind", "hik-isapi", "--host", "127.0.0.1",
                                  "--port", str(served.port), "--site", "OPD-H", "--tz", "Asia/Makassar",
                                  "--username", "admin", "--password", "Hik12345"])
        assert out.exit_code == 0, out.output
        shown = runner.invoke(app, ["device", "show", term.serial])
        assert "Hik12345" not in shown.output
        pulled = runner.invoke(app, ["pull", "--device", term.serial, "--direct"])
        assert pulled.exit_code == 0, pulled.output
        assert "4 punch baru" in pulled.output, pulled.output
    out_csv = tmp_path / "rekap.csv"
    recap = runner.invoke(app, ["recap", "--month", "2026-11", "--site", "OPD-H", "--format", "csv",
                                "-o", str(out_csv)])
    assert recap.exit_code == 0, recap.output
    rows = {r["nip"]: r for r in csvmod.DictReader(out_csv.open(encoding="utf-8-sig"))}
    assert set(rows) == {"198001012005011001", "198001012005011002"}
    ani, budi = rows["198001012005011001"], rows["198001012005011002"]
    # Monday 2 November (WITA): Ani on time, Budi 15 minutes late (TL1, 0.5 %); no other data
    assert (ani["hadir"], ani["TL1"], ani["menit_terlambat"]) == ("1", "0", "0")
    assert (budi["hadir"], budi["TL1"], budi["menit_terlambat"], budi["potongan_rp"]) == ("1", "1", "15", "15000")


def test_hub_simulate_device_vendor_hikvision(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The simulator as an operator starts it: a process serving ISAPI until SIGTERM."""
    import signal

    from tests.proc_helpers import free_port, hub_env, start_hub, stop

    port = free_port()
    proc = start_hub(["simulate", "device", "--vendor", "hikvision", "--port", str(port), "--records", "50",
                      "--users", "5", "--tz", "Asia/Jayapura", "--serial", "DS-SIM-1"], hub_env(settings),
                     tmp_path / "sim.log")
    try:
        deadline = datetime.now() + timedelta(seconds=60)
        while True:
            try:
                with IsapiClient("127.0.0.1", port, "admin", "Hik12345", timeout_s=2) as c:
                    info = c.device_info()
                    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
                    total, newest = c.total(start, end), c.newest(start, end)
                break
            except Exception:  # noqa: BLE001 - not up yet
                assert proc.poll() is None and datetime.now() < deadline, (tmp_path / "sim.log").read_text()
                time.sleep(0.3)
        assert info["serialNumber"] == "DS-SIM-1" and total == 50
        assert newest is not None and newest.time.utcoffset() == timedelta(hours=9)
    finally:
        assert stop(proc, signal.SIGTERM, timeout=20) == 0


def test_a_drifted_clock_holds_its_punches_and_is_set_right(engine) -> None:  # type: ignore[no-untyped-def]
    """Off by 10 minutes: the pull says so and its punches wait for a reviewer (CLOCK_SUSPECT),
    as on ZK terminals; the clock check sets it to the zone's true time, audited."""
    from hub.adapters.isapi.clock import sync_clock
    from hub.punch import PunchFlag
    from hub.store.models import AuditLog

    term = HikTerminal(serial="DS-K1T-DRIFT", utc_offset_h=8, drift_s=600)
    _day(term, 4)
    with Served(term) as served:
        _register(engine, term, served, "Asia/Makassar")
        res = _pull(engine, term.serial)
        assert res.ok and 590 < (res.clock_offset_s or 0) < 610 and any("selisih" in n for n in res.notes)
        assert all(r.flags & PunchFlag.CLOCK_SUSPECT for r in _stored(engine, term.serial))
        [target] = load_targets(engine, term.serial)
        fixed = sync_clock(engine, target, 120, "it1")
        assert fixed.synced and 590 < (fixed.offset_before_s or 0) < 610, fixed
        assert abs(term.drift_s) < 5 and term.now().utcoffset() == timedelta(hours=8)
        with Session(engine) as s:
            dev = s.scalar(select(Device).where(Device.serial == term.serial))
            assert abs(dev.last_clock_offset_s) < 5
            assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "device.sync_time")) == "it1"
        # in time now: the next punches are not held
        _day(term, 2, datetime(2026, 11, 2, 16, 0))
        assert _pull(engine, term.serial).new == 2
        assert [r.flags & PunchFlag.CLOCK_SUSPECT for r in _stored(engine, term.serial)][-2:] == [0, 0]


def test_live_posts_arrive_in_seconds_once_and_only_from_the_terminal(engine, settings) -> None:  # type: ignore[no-untyped-def]
    """HTTP listening: `hub device listen` points the terminal at the hub; a punch at the
    terminal is in the store within seconds, a post sent twice is stored once, a post from
    another address or to another key is refused and keeps nothing; the pull after adds
    nothing twice."""
    import httpx
    from typer.testing import CliRunner

    from hub.cli.main import app
    from hub.web.app import create_app
    from tests.web_fixtures import LiveServer

    term = HikTerminal(serial="DS-K1T-LIVE")
    with Served(term) as served, LiveServer(create_app(settings)) as hub:
        _register(engine, term, served)
        out = CliRunner().invoke(app, ["device", "listen", term.serial, "--url", hub.url])
        assert out.exit_code == 0, out.output
        assert term.listener is not None and term.listener[2].startswith("/isapi/events/")
        ev = term.punch("198001012005010001", datetime.now(timezone(timedelta(hours=7))).replace(tzinfo=None))
        deadline = time.monotonic() + 10
        while not _stored(engine, term.serial):
            assert time.monotonic() < deadline, (term.posted, term.post_failures)
            time.sleep(0.1)
        [row] = _stored(engine, term.serial)
        assert row.device_seq == ev.serial_no and row.source == "isapi"
        path = term.listener[2]
        body = json.dumps(isapi.notification_body(ev))
        again = httpx.post(hub.url + path, files={"event_log": (None, body, "application/json")})
        assert again.status_code == 200 and len(_stored(engine, term.serial)) == 1  # once
        wrong_key = httpx.post(hub.url + "/isapi/events/not-the-key",
                               files={"event_log": (None, body, "application/json")})
        assert wrong_key.status_code == 404
        with Session(engine) as s:  # the terminal is registered elsewhere: this post is not its
            s.execute(Device.__table__.update().where(Device.serial == term.serial).values(host="127.0.0.9"))
            s.commit()
        other = term.punch("198001012005010002")
        refused = httpx.post(hub.url + path, files={"event_log": (None, json.dumps(isapi.notification_body(other)),
                                                                  "application/json")})
        assert refused.status_code == 403
        broken = httpx.post(hub.url + path, files={"event_log": (None, "{not json", "application/json")})
        assert broken.status_code in (400, 403)
        with Session(engine) as s:
            s.execute(Device.__table__.update().where(Device.serial == term.serial).values(host="127.0.0.1"))
            s.commit()
        assert _pull(engine, term.serial).new == 1  # the refused one, read by the pull; the first not again
        assert len(_stored(engine, term.serial)) == 2
        # the pull recorded what the terminal can hold without forgetting the listening key
        term.punch("198001012005010003")
        deadline = time.monotonic() + 10
        while len(_stored(engine, term.serial)) < 3:
            assert time.monotonic() < deadline, (term.posted, term.post_failures)
            time.sleep(0.1)


def test_capacities_and_a_login_that_never_works(engine) -> None:  # type: ignore[no-untyped-def]
    """The first pull records what the terminal can hold (the fleet page's "nearly full");
    a terminal that refuses every Digest answer is a clear failure, not a hang."""
    from hub.fleet.status import use_of

    term = HikTerminal(serial="DS-K1T-CAP", events_cap=100)
    _day(term, 95)
    with Served(term) as served:
        _register(engine, term, served)
        assert _pull(engine, term.serial).ok
        with Session(engine) as s:
            dev = s.scalar(select(Device).where(Device.serial == term.serial))
            assert dev.capabilities["capacity"] == {"rec_cap": 100, "users_cap": 3000, "faces_cap": 3000}
            assert dev.capabilities["model"] == "DS-K1T341AMF" and use_of(dev)["log_use"] == 0.95
        term.faults.bad_login = True
        started = time.monotonic()
        refused = _pull(engine, term.serial)
        assert not refused.ok and "401" in (refused.error or "") and time.monotonic() - started < 10


def test_a_hub_killed_mid_write_loses_and_doubles_nothing(settings, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`hub pull` SIGKILLed while it reads a slow terminal: nothing half-stored, the cursor
    where it was; the next pull stores every event once (the terminal's log is the truth)."""
    import signal
    import subprocess
    import sys

    from tests.proc_helpers import ROOT, hub_env

    term = HikTerminal(serial="DS-K1T-KILL", page_cap=10)
    _day(term, 300)
    with Served(term) as served:
        _register(engine, term, served)
        term.faults.slow_s = 0.05  # thirty pages: well over a second to read
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "pull", "--device", term.serial, "--direct"],
                                cwd=ROOT, env=hub_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while term.pages_served < 5:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _stored(engine, term.serial) == []
        with Session(engine) as s:
            assert s.scalar(select(Device.last_seq).where(Device.serial == term.serial)) is None
        term.faults.slow_s = 0.0
        again = _pull(engine, term.serial)
        assert again.ok and again.new == 300
        assert [r.device_seq for r in _stored(engine, term.serial)] == list(range(1, 301))


def _self_signed(tmp_path, name: str):  # type: ignore[no-untyped-def]
    """A terminal's self-signed certificate (and its SHA-256) for 127.0.0.1."""
    import hashlib
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path), hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_https_with_a_pinned_certificate(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A terminal's self-signed certificate: refused unless pinned; with its SHA-256 pinned,
    pulled; another certificate at the same address (a swapped box, a man in the middle) is
    refused with the reason and nothing is read."""
    from hub.fleet.registry import edit_device

    cert, key, pin = _self_signed(tmp_path, "terminal")
    other_cert, other_key, _ = _self_signed(tmp_path, "impostor")
    term = HikTerminal(serial="DS-K1T-TLS")
    _day(term, 12)
    with Served(term, certfile=cert, keyfile=key) as served:
        with Session(engine) as s:
            s.add(Site(code="OPD-H", name="Dinas Pendidikan", tz="Asia/Jakarta"))
            s.flush()
            add_device(s, DeviceSpec(serial=term.serial, kind="hik-isapi", site="OPD-H", host="127.0.0.1",
                                     port=served.port, username="admin", password="Hik12345", tls_pin=pin.upper()))
            s.commit()
        res = _pull(engine, term.serial)
        assert res.ok and res.new == 12, res.error
        port = served.port
    with Served(term, port=port, certfile=other_cert, keyfile=other_key):
        refused = _pull(engine, term.serial)
        assert not refused.ok and "disematkan" in (refused.error or "")
        with Session(engine) as s:  # without a pin, a self-signed certificate is not trusted either
            edit_device(s, s.scalar(select(Device).where(Device.serial == term.serial)), {"tls_pin": ""})
            s.commit()
        with Session(engine) as s:
            d = s.scalar(select(Device).where(Device.serial == term.serial))
            assert "tls_sha256" not in d.capabilities
        assert not _pull(engine, term.serial).ok
    assert len(_stored(engine, term.serial)) == 12


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["eventType", "dateTime", "x"]), st.text(max_size=30), max_size=3),
                min_size=1, max_size=5), st.lists(st.integers(1, 200), min_size=1, max_size=30))
def test_an_alert_stream_cut_anywhere_gives_the_same_parts(docs, cuts) -> None:  # type: ignore[no-untyped-def]
    stream = b"".join(isapi.stream_part(d, "boundary") for d in docs)
    reader, parts, at = isapi.PartReader("boundary"), [], 0
    for n in cuts * (len(stream) // max(1, sum(cuts)) + 1):
        parts += reader.feed(stream[at:at + n])
        at += n
        if at >= len(stream):
            break
    parts += reader.feed(stream[at:])
    assert [json.loads(p) for p in parts] == docs


def test_an_alert_stream_stores_events_as_they_come_and_comes_back(engine) -> None:  # type: ignore[no-untyped-def]
    """Arming: the hub holds the terminal's alertStream; a punch is stored within seconds;
    the stream cut, the watcher opens it again and the next punch arrives too, once each."""
    from hub.adapters.isapi.stream import StreamSupervisor

    term = HikTerminal(serial="DS-K1T-ARM")
    with Served(term) as served:
        _register(engine, term, served)
        with Session(engine) as s:
            d = s.scalar(select(Device).where(Device.serial == term.serial))
            d.capabilities = {**(d.capabilities or {}), "live": "stream"}
            s.commit()
        sup = StreamSupervisor(engine).start()
        try:
            watcher = sup.watchers[term.serial]
            deadline = time.monotonic() + 10
            while not term.streams:
                assert time.monotonic() < deadline and watcher.is_alive()
                time.sleep(0.05)
            term.punch("198001012005010001", datetime(2026, 11, 2, 7, 1))
            deadline = time.monotonic() + 10
            while len(_stored(engine, term.serial)) < 1:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            term.cut_streams()  # the terminal reboots: the stream ends mid-way
            deadline = time.monotonic() + 15
            while watcher.connects < 2 or not term.streams:
                assert time.monotonic() < deadline, watcher.connects
                time.sleep(0.05)
            term.punch("198001012005010002", datetime(2026, 11, 2, 7, 2))
            term.stranger(datetime(2026, 11, 2, 7, 3))
            deadline = time.monotonic() + 10
            while len(_stored(engine, term.serial)) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            sup.stop()
        # the pull after finds nothing new to store twice
        assert _pull(engine, term.serial).new == 0
        assert [r.device_seq for r in _stored(engine, term.serial)] == [1, 2]
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(DeviceEvent)) == 1


def test_a_terminal_switched_off_fails_clearly_and_is_read_when_back(engine) -> None:  # type: ignore[no-untyped-def]
    term = HikTerminal(serial="DS-K1T-OFF")
    _day(term, 6)
    with Served(term) as served:
        _register(engine, term, served)
        port = served.port
    off = _pull(engine, term.serial)  # nothing answers at its address
    assert not off.ok and off.error and _stored(engine, term.serial) == []
    with Session(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == term.serial))
        assert dev.failures == 1 and dev.failing_since is not None
    with Served(term, port=port):
        back = _pull(engine, term.serial)
        assert back.ok and back.new == 6
    with Session(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == term.serial))
        assert dev.failures == 0 and dev.recovered_at is not None
