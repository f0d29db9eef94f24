"""What one pull of one terminal came to, whatever its family (ZK, ISAPI): the CLI, the
scheduler's job history and the console read the same fields."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PullResult:
    serial: str
    device_id: int
    seen: int = 0
    new: int = 0
    duplicate: int = 0
    seconds: float = 0.0
    error: str | None = None
    mode: str = "full"  # full | tail | unchanged | empty
    record_count: int | None = None
    log_cleared: bool = False
    clock_offset_s: float | None = None
    clock_synced: bool = False
    cleared_terminal: bool = False
    attempts: int = 0
    impossible_dates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ClockResult:
    serial: str
    offset_before_s: float | None = None
    synced: bool = False
    error: str | None = None


@dataclass
class ProbeResult:
    serial: str  # as registered (or as typed in the form)
    ok: bool = False
    reported_serial: str | None = None
    firmware: str | None = None
    platform: str | None = None
    model: str | None = None
    transport: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # users, records, fingers, faces and their *_cap
    clock_offset_s: float | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def serial_differs(self) -> bool:
        return bool(self.reported_serial) and self.reported_serial != self.serial
