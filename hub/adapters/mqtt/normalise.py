"""MQTT punch events -> canonical punches: the MQTT family's one normalise step. The
terminal's own sequence number and UTC instant (when it sent one) travel with the punch."""

from __future__ import annotations

from collections.abc import Iterable

from hub.protocols.mqtt import PunchEvent
from hub.punch import Punch, Source
from hub.push.service import KnownDevice


def to_punches(device: KnownDevice, events: Iterable[PunchEvent]) -> list[Punch]:
    return [Punch(device_id=device.id, source=Source.MQTT, pin=e.pin, local_time=e.time_local, tz=device.tz,
                  state=e.state, verify=e.verify, work_code=e.work_code, device_seq=e.seq, raw=e.raw,
                  utc_time=e.utc_time) for e in events]
