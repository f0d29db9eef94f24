"""The same pull over RS-232/485: pyserial on one end of a pty pair, the simulator on the other."""

from __future__ import annotations

import os
import tty
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from hub.adapters.zk.coordinator import Puller, load_targets
from hub.adapters.zk.serial import SerialLine, SerialZkClient
from hub.fleet.registry import DeviceSpec, add_device
from hub.simulator.zk.serial import start_serial_in_thread
from hub.simulator.zk.terminal import Terminal
from tests.zk_fixtures import assert_store_matches, fast_settings, fill

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def serial_terminal(tmp_path):
    term = Terminal.create(tmp_path / "serial.sqlite3", "tft", serial="SER0001", comm_key=77)
    fill(term, users=20, records=150)
    line = start_serial_in_thread(term, baud=115200)
    yield term, line
    line.stop()


def test_pull_over_a_serial_line(engine, serial_terminal):
    term, line = serial_terminal
    with Session(engine) as s:
        dev = add_device(s, DeviceSpec(serial=term.serial, kind="zk-serial",
                                       serial_line=line.tty_path, baud=115200, comm_key=77))
        s.commit()
        dev_id = dev.id
    puller = Puller(engine, fast_settings(timeout_s=5))
    [res] = puller.pull_many(load_targets(engine))
    assert res.error is None, res.error
    assert (res.seen, res.new) == (150, 150)
    from tests.zk_fixtures import SimDevice

    sim = SimDevice(term, None, dev_id, term.serial)  # type: ignore[arg-type]
    assert_store_matches(engine, sim)
    fill(term, records=10, start=term.now() - timedelta(minutes=5))
    [res] = puller.pull_many(load_targets(engine))
    assert (res.mode, res.new) == ("tail", 10)
    assert_store_matches(engine, sim)
    from sqlalchemy import select

    from hub.store.models import RawPunch

    with Session(engine) as s:
        assert set(s.scalars(select(RawPunch.source))) == {"zk_serial"}


def test_serial_client_reads_device_info(serial_terminal):
    term, line = serial_terminal
    with SerialZkClient(line.tty_path, comm_key=77, timeout=5) as client:
        info = client.info()
        assert info.serial == term.serial and info.transport == "serial"
        assert client.sizes().records == 150


def test_serial_line_resynchronises_and_times_out():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    line = SerialLine(path, timeout=0.5)
    try:
        pkt = b"\x50\x50\x82\x7d" + (8).to_bytes(4, "little") + bytes(range(8))
        os.write(master, b"\x00\xffnoise" + pkt)
        assert line.recv(4) == pkt[:4] and line.recv(100) == pkt[4:]
        with pytest.raises(TimeoutError):
            line.recv(16)
    finally:
        line.close()
        os.close(master)
        os.close(slave)


def test_missing_serial_port_is_a_clear_error():
    from hub.adapters.zk.client import ZkClientError

    with pytest.raises(ZkClientError, match="/dev/ttyNOPE"):
        SerialLine("/dev/ttyNOPE")
