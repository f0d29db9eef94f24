"""The canonical punch: the one shape every adapter produces (DESIGN.md).

Adapters build `Punch` objects; the store turns them into rows of `raw_punches`.
The identity of a raw punch is (device, pin, local_time, state, verify): re-reading a log,
a redelivery or a second path for the same punch all collapse onto one row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.times import to_utc


class Source(enum.StrEnum):
    ZK_TCP = "zk_tcp"
    ZK_UDP = "zk_udp"
    ZK_SERIAL = "zk_serial"
    MQTT = "mqtt"
    ADMS = "adms"
    FILE = "file"
    MOBILE = "mobile"
    ISAPI = "isapi"
    MANUAL = "manual"


class State(enum.StrEnum):
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    BREAK_OUT = "break_out"
    BREAK_IN = "break_in"
    OT_IN = "ot_in"
    OT_OUT = "ot_out"
    UNDEFINED = "undefined"


class Verify(enum.StrEnum):
    FINGERPRINT = "fingerprint"
    FACE = "face"
    CARD = "card"
    PASSWORD = "password"
    PALM = "palm"
    GPS_SELFIE = "gps_selfie"
    OTHER = "other"


class PunchFlag(enum.IntFlag):
    """Flags kept on a raw punch as a bit mask (visible in the review queues)."""

    NONE = 0
    CLOCK_SUSPECT = 1
    UNKNOWN_PIN = 2
    OUT_OF_RANGE = 4
    PHOTO_MISMATCH = 8
    UNKNOWN_DEVICE = 16
    OUTSIDE_GEOFENCE = 32
    LATE_UPLOAD = 64  # a phone's offline punch delivered later than its ruleset allows

    @classmethod
    def names_of(cls, value: int) -> list[str]:
        return [f.name.lower() for f in cls if f.value and value & f.value]  # type: ignore[union-attr]

    @classmethod
    def parse(cls, names: str | list[str]) -> PunchFlag:
        if isinstance(names, str):
            names = [n for n in names.split(",") if n.strip()]
        out = cls.NONE
        for n in names:
            out |= cls[n.strip().upper()]
        return out


# Years a terminal can represent (ZK time encoding is 2000-2099); a date outside what the
# hub accepts as plausible is kept, flagged out_of_range.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1)


@dataclass(slots=True)
class Punch:
    """One punch as an adapter saw it, before it is stored."""

    device_id: int
    source: Source | str
    pin: str
    local_time: datetime
    tz: str
    state: State | str = State.UNDEFINED
    verify: Verify | str = Verify.OTHER
    work_code: str | None = None
    device_seq: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    flags: int = 0
    utc_time: datetime | None = None

    def identity(self) -> tuple[int, str, datetime, str, str]:
        return (self.device_id, self.pin, self.local_time, str(self.state), str(self.verify))

    def instant(self) -> datetime:
        return self.utc_time if self.utc_time is not None else to_utc(self.local_time, self.tz)
