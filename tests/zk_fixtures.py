"""Simulated ZK terminals for the pull tests: real sockets, pyzk on the other end.

`make_terminal` creates a terminal (A1's simulator), serves it from a thread, registers
it as a device in the store and returns a handle; `ground_truth` is what the terminal
holds, in the store's identity terms, so a test can compare both sides exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.config import PullSettings
from hub.fleet.registry import DeviceSpec, add_device
from hub.protocols import zk
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.protocols.zk_records import decode_time
from hub.simulator.zk.server import ThreadedTerminal, start_in_thread
from hub.simulator.zk.terminal import Terminal
from hub.store.models import RawPunch

BASE = datetime(2026, 11, 2, 7, 0)


@dataclass
class SimDevice:
    terminal: Terminal
    server: ThreadedTerminal
    device_id: int
    serial: str

    @property
    def faults(self):  # noqa: ANN201 - the simulator's Faults
        return self.server.faults


def fill(terminal: Terminal, users: int = 50, records: int = 200,
         start: datetime = BASE) -> None:
    if users and not terminal.users():
        terminal.set_users([zk.User(uid=i, user_id=str(1000 + i), name=f"P{i}")
                            for i in range(1, users + 1)])
    if records:
        terminal.bulk_punch([(str(1001 + i % users), start + timedelta(minutes=i), i % 2, 1)
                             for i in range(records)])


def ground_truth(terminal: Terminal, users_by_uid: dict[int, str] | None = None
                 ) -> set[tuple[str, datetime, str, str]]:
    out = set()
    for r in terminal.attendance():
        pin = r.user_id
        if terminal.profile.att_size == 8:
            pin = (users_by_uid or {}).get(r.uid, str(r.uid))
        out.add((pin, decode_time(r.time_raw)[0], str(zk_state(r.state)),
                 str(zk_verify(r.verify))))
    return out


def stored(engine: Engine, device_id: int) -> list[tuple[str, datetime, str, str]]:
    with Session(engine) as s:
        return [tuple(r) for r in s.execute(
            select(RawPunch.pin, RawPunch.local_time, RawPunch.state, RawPunch.verify)
            .where(RawPunch.device_id == device_id))]


def assert_store_matches(engine: Engine, sim: SimDevice, extra: set | None = None) -> None:
    rows = stored(engine, sim.device_id)
    assert len(rows) == len(set(rows)), "a punch is stored twice"
    truth = ground_truth(sim.terminal, {u.uid: u.user_id for u in sim.terminal.users()})
    truth |= extra or set()
    assert set(rows) == truth, (f"missing {len(truth - set(rows))}, "
                                f"unexpected {len(set(rows) - truth)}")


def fast_settings(**kw) -> PullSettings:
    base = {"concurrency": 8, "timeout_s": 3.0, "retries": 2, "clock_tolerance_s": 120,
            "auto_sync_time": False, "clear_after_pull": False}
    base.update(kw)
    return PullSettings(**base)


@pytest.fixture
def make_terminal(engine: Engine, tmp_path: Path) -> Iterator:
    servers: list[ThreadedTerminal] = []
    counter = iter(range(1, 10_000))

    def make(profile: str = "tft", users: int = 50, records: int = 200, comm_key: int = 0,
             kind: str | None = None, clock_offset_s: float = 0.0,
             tz: str = "Asia/Jakarta", **server_options) -> SimDevice:
        n = next(counter)
        term = Terminal.create(tmp_path / f"term{n}.sqlite3", profile, serial=f"SIM{n:04d}",
                               comm_key=comm_key, clock_offset_s=clock_offset_s, tz=tz)
        fill(term, users, records)
        srv = start_in_thread(term, **server_options)  # framing, session_policy, ...
        servers.append(srv)
        kind = kind or ("zk-tcp" if "tcp" in term.profile.transports else "zk-udp")
        with Session(engine) as s:
            dev = add_device(s, DeviceSpec(serial=term.serial, kind=kind, host="127.0.0.1",
                                           port=srv.port, comm_key=comm_key or None, tz=tz))
            s.commit()
            dev_id = dev.id
        return SimDevice(term, srv, dev_id, term.serial)

    yield make
    for srv in servers:
        srv.stop()
