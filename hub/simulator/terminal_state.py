"""What a simulated push terminal keeps: its punch log, users and the commands it ran.

Shared by the ADMS and MQTT simulators. A command id seen twice is not run again: the
stored result is sent back (B.3 "devices must be idempotent on id").
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

# (pin, local_time, zk status 0-5, zk verify code)
Record = tuple[str, datetime, int, int]


def day_of_punches(serial: str, day: date, staff: int = 40, seed: int | None = None
                   ) -> list[Record]:
    """A working day at one terminal: arrivals, breaks and departures, in time order."""
    rng = random.Random(seed if seed is not None else serial)
    out: list[Record] = []
    base = datetime(day.year, day.month, day.day)
    for n in range(staff):
        pin = str(1000 + n)
        verify = rng.choice((1, 15, 15, 4))
        arrive = base + timedelta(hours=7, minutes=rng.randint(0, 75), seconds=rng.randint(0, 59))
        out.append((pin, arrive, 0, verify))
        if rng.random() < 0.4:
            out.append((pin, base + timedelta(hours=12, minutes=rng.randint(0, 20),
                                              seconds=rng.randint(0, 59)), 2, verify))
            out.append((pin, base + timedelta(hours=12, minutes=rng.randint(30, 59),
                                              seconds=rng.randint(0, 59)), 3, verify))
        out.append((pin, base + timedelta(hours=16, minutes=rng.randint(0, 90),
                                          seconds=rng.randint(0, 59)), 1, verify))
    out.sort(key=lambda r: (r[1], r[0]))
    return out


@dataclass
class TerminalState:
    serial: str
    log: list[Record] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    templates: dict[tuple[str, int], str] = field(default_factory=dict)
    faces: dict[str, str] = field(default_factory=dict)
    results: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    executions: dict[str, int] = field(default_factory=dict)
    clock_sets: int = 0
    # firmware limits: a face photo larger than this (base64 characters) is refused with
    # Return=-1002, as units do with photos they cannot take
    max_face_b64: int | None = None
    # a full unit that answers "done" but keeps nothing more (seen on units whose user
    # table is full): users beyond this count are silently dropped
    drop_users_beyond: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, cmd_id: str, op: str, data: dict[str, Any]) -> tuple[str, int, str]:
        """Execute a canonical command once; later deliveries get the stored result."""
        with self.lock:
            if cmd_id in self.results:
                return self.results[cmd_id]
            self.executions[cmd_id] = self.executions.get(cmd_id, 0) + 1
            result = self._apply(op, data)
            self.results[cmd_id] = result
            return result

    def _apply(self, op: str, data: dict[str, Any]) -> tuple[str, int, str]:
        if op == "user.upsert":
            user = data.get("user", data)
            if self.drop_users_beyond is None or str(user["id"]) in self.users \
                    or len(self.users) < self.drop_users_beyond:
                self.users[str(user["id"])] = dict(user)
        elif op == "users.list":
            pass  # the caller uploads them
        elif op == "user.delete":
            if self.users.pop(str(data["user_id"]), None) is None:
                return "failed", -1, "user not found"
        elif op == "template.set":
            self.templates[(str(data["user_id"]), int(data.get("no", 0)))] = data["data_b64"]
        elif op == "face.set":
            photo = data.get("photo", {})
            if self.max_face_b64 is not None and int(photo.get("size", 0)) > self.max_face_b64:
                return "failed", -1002, "face photo refused"
            self.faces[str(data["user_id"])] = str(photo.get("sha256", ""))
        elif op == "device.time.set":
            self.clock_sets += 1
        elif op == "events.resend":
            pass  # the caller re-queues the window
        else:
            return "rejected", -13, f"unknown op {op}"
        return "done", 0, ""
