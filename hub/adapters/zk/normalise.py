"""ZK records and live events -> canonical punches: the ZK family's one normalise step
(the binary log of a pull, a REG_EVENT of the live listener)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.adapters.zk.targets import Target
from hub.protocols.zk import AttEvent
from hub.protocols.zk_codes import zk_state, zk_verify
from hub.protocols.zk_records import ZkLogRecord
from hub.punch import Punch, PunchFlag


def to_punches(records: Iterable[ZkLogRecord], target: Target, source: str,
               flags: int = 0) -> list[Punch]:
    """Canonical punches from log records (the hot loop of a full pull: kept lean)."""
    out: list[Punch] = []
    append = out.append
    out_of_range = int(PunchFlag.OUT_OF_RANGE)
    states: dict[int, str] = {}
    verifies: dict[int, str] = {}
    dev, tz = target.id, target.tz
    for r in records:
        st = states.get(r.state)
        if st is None:
            st = states[r.state] = zk_state(r.state)
        vf = verifies.get(r.verify)
        if vf is None:
            vf = verifies[r.verify] = zk_verify(r.verify)
        # raw: the device's own fields (time_raw only where the date itself is broken)
        raw: dict[str, Any] = {"index": r.index, "state": r.state, "verify": r.verify}
        f = flags
        if r.uid is not None:
            raw["uid"] = r.uid
        if r.workcode:
            raw["workcode"] = r.workcode
        if r.time_error:
            raw["time_raw"] = r.time_raw
            raw["time_error"] = r.time_error
            f |= out_of_range
        append(Punch(dev, source, r.pin, r.local_time, tz, st, vf,
                     str(r.workcode) if r.workcode else None, None, raw, f))
    return out


def live_punch(target: Target, source: str, ev: AttEvent, flags: int = 0) -> Punch:
    """A punch the terminal announced as it happened (REG_EVENT)."""
    return Punch(target.id, source, ev.user_id, ev.when, target.tz, zk_state(ev.state), zk_verify(ev.verify),
                 raw={"live": True, "state": ev.state, "verify": ev.verify}, flags=flags)
