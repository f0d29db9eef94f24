"""Per-terminal health written in one place (hub.fleet.health): a terminal that stops
answering counts consecutive failures from when it started failing, whoever talked to it
(a pull, a clock sync, the live listener); the first success after that is a recovery."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from hub.adapters.zk.clock import sync_clock
from hub.adapters.zk.coordinator import Puller, load_targets
from hub.adapters.zk.live import LiveListener
from hub.adapters.zk.sessions import SessionManager
from hub.store.models import Device
from tests.zk_fixtures import fast_settings, make_terminal

__all__ = ["make_terminal"]
pytestmark = pytest.mark.timeout(120)


def _device(engine, device_id: int) -> Device:
    with Session(engine) as s:
        d = s.get(Device, device_id)
        s.expunge(d)
        return d


def test_failures_count_until_the_terminal_recovers(engine, make_terminal):
    sim = make_terminal("tft", records=40)
    settings = fast_settings(retries=0)
    [target] = load_targets(engine)
    sim.faults.refuse = True
    [first] = Puller(engine, settings).pull_many(load_targets(engine))
    assert first.error
    d = _device(engine, sim.device_id)
    assert (d.failures, d.last_seen_at) == (1, None) and d.failing_since is not None and d.last_error
    since = d.failing_since
    clock = sync_clock(engine, target, settings, "test")  # another kind of work, the same record
    assert clock.error
    d = _device(engine, sim.device_id)
    assert (d.failures, d.failing_since) == (2, since)
    sim.faults.refuse = False
    [ok] = Puller(engine, settings).pull_many(load_targets(engine))
    assert ok.error is None and ok.new == 40
    d = _device(engine, sim.device_id)
    assert (d.failures, d.failing_since, d.last_error) == (0, None, None)
    assert d.recovered_at is not None and d.last_seen_at >= d.recovered_at
    recovered = d.recovered_at
    [again] = Puller(engine, settings).pull_many(load_targets(engine))
    assert again.error is None and _device(engine, sim.device_id).recovered_at == recovered  # once


def test_the_live_listener_records_its_backoff_and_its_recovery(engine, make_terminal):
    sim = make_terminal("tft", records=5)
    sim.faults.refuse = True
    [target] = load_targets(engine)
    listener = LiveListener(engine, target, fast_settings(), reconnect_s=0.2, backoff_max_s=0.4,
                            sessions=SessionManager())
    listener.start()
    try:
        deadline = time.monotonic() + 10
        while _device(engine, sim.device_id).failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        d = _device(engine, sim.device_id)
        assert d.failures >= 2 and d.backoff_s in (0.2, 0.4) and d.last_error
        sim.faults.refuse = False
        assert listener.connected.wait(10)
        d = _device(engine, sim.device_id)
        assert (d.failures, d.backoff_s, d.last_error) == (0, None, None) and d.recovered_at is not None
    finally:
        listener.stop()
