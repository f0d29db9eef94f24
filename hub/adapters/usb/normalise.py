"""Exported rows -> canonical punches: the USB family's one normalise step (state and verify
codes through the same ZK table as a network pull, so an imported punch pulled later is the
same row)."""

from __future__ import annotations

from datetime import datetime

from hub.protocols.zk_codes import zk_state, zk_verify
from hub.punch import Punch, PunchFlag, Source


def normalise(device_id: int, tz: str, pin: str, when: datetime, state: int, verify: int,
              workcode: int, raw: dict) -> Punch:
    """One exported row -> a canonical punch: the USB family's one normalise step."""
    return Punch(device_id, Source.FILE, pin, when, tz, zk_state(state), zk_verify(verify),
                 work_code=str(workcode) if workcode else None, raw=raw,
                 flags=int(PunchFlag.NONE))
