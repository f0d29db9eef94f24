"""What the poller hands its worker threads and processes, and what each pull returns:
plain data, no ORM objects and no I/O (shared by the coordinator and the process shards)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.adapters.pulls import PullResult
from hub.store.models import Device

__all__ = ["PullResult", "Target"]


@dataclass
class Target:
    """What a worker thread needs of a Device row (no ORM objects cross threads)."""

    id: int
    serial: str
    kind: str
    host: str | None
    port: int | None
    serial_line: str | None
    baud: int | None
    comm_key: int
    tz: str
    last_record_count: int | None
    last_newest_local: datetime | None
    has_capabilities: bool

    @classmethod
    def of(cls, d: Device) -> Target:
        from hub.fleet.registry import comm_key  # (raises SecretError when the key cannot be read)

        return cls(d.id, d.serial, d.kind, d.host, d.port, d.serial_line, d.baud, comm_key(d), d.tz,
                   d.last_record_count, d.last_newest_local, bool(d.capabilities))
