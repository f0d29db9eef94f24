"""How a simulated terminal puts its packets on a TCP stream.

Real TFT units answer a buffered read (1504) with PREPARE_DATA(size, 1008), DATA packets of
at most 1008 data bytes, then ACK_OK (zk-protocol.md §3.9, the §8 70-user capture: 5 x 1008
+ 4). That is the default here ("capture"). A host reading late finds several of those
packets in one segment ("coalesced"), and a slow link can deliver one packet over several
segments ("split"); both are reachable for tests, and "single" keeps the old one-packet
answer that tolerant clients also accept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

CAPTURED_PACKET = 1008  # data bytes per CMD_DATA packet of a TFT unit's TCP stream


@dataclass
class Framing:
    packet: int = CAPTURED_PACKET  # data bytes per CMD_DATA of a TCP stream; 0: a chunk in one packet
    coalesce: int = 1  # packets per TCP write: 1 each its own, N several at once, 0 the whole answer
    split: bool = False  # write each packet in two parts, a moment apart (one packet, two segments)
    pace_s: float = 0.0  # pause between writes

    PRESETS = ("capture", "coalesced", "split", "paced", "single")

    @classmethod
    def preset(cls, name: str) -> Framing:
        """capture (default), coalesced, split, paced (2 ms between packets), single."""
        if name == "capture":
            return cls()
        if name == "coalesced":
            return cls(coalesce=0)
        if name == "split":
            return cls(split=True)
        if name == "paced":
            return cls(pace_s=0.002)
        if name == "single":
            return cls(packet=0)
        raise ValueError(f"unknown framing {name!r}; choose {', '.join(cls.PRESETS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Framing:
        return cls(**(data or {}))

    def groups(self, wires: list[bytes]) -> list[bytes]:
        """The TCP writes for these framed packets, in order."""
        if not wires:
            return []
        if self.coalesce == 0:
            out = [b"".join(wires)]
        elif self.coalesce > 1:
            out = [b"".join(wires[i:i + self.coalesce]) for i in range(0, len(wires), self.coalesce)]
        else:
            out = list(wires)
        if self.split:
            halves = []
            for w in out:
                cut = max(1, len(w) // 2)
                halves += [w[:cut], w[cut:]]
            out = halves
        return out
