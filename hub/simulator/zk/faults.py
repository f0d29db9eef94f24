"""Per-terminal fault injection. The server reads these fields on every packet, so a test can
change them while sessions are open."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Faults:
    latency_s: float = 0.0  # added before every answer (its stream's packets then follow at bandwidth)
    bandwidth_bps: int | None = None  # cap on bytes/s sent (per connection)
    drop_after_bytes: int | None = None  # close a connection once it has sent this many bytes
    refuse: bool = False  # TCP: accept and reset at once; UDP: ignore datagrams
    slow_s: float = 0.0  # time the terminal "thinks" before answering each command
    corrupt_next: bool = False  # mangle the next reply packet once (then clears itself)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Faults:
        return cls(**(data or {}))

    def clear(self) -> None:
        for key, value in asdict(Faults()).items():
            setattr(self, key, value)
