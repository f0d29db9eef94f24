"""Access control a simulated unit keeps: time zones, groups, unlock combinations and
per-user verify modes (zkproto access.md), persisted beside the terminal's users.

Defaults as units ship: time zone 1 open all day, every other zone closed; group 1 uses
time zone 1; unlock combination 1 is group 1 alone; users follow their group's verify mode.
"""

from __future__ import annotations

import json
import sqlite3
import threading

from hub.protocols.zk_access import (
    ALL_DAY,
    CLOSED,
    GROUP_COUNT,
    TZ_COUNT,
    ULG_COUNT,
    VERIFY_GROUP,
    GroupTZ,
    TimeZone,
    UnlockCombo,
)

SCHEMA = "create table if not exists access (kind text not null, key integer not null, value text not null, " \
         "primary key (kind, key))"


class AccessTable:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock
        db.execute(SCHEMA)

    def _get(self, kind: str, key: int):
        row = self._db.execute("select value from access where kind = ? and key = ?", (kind, key)).fetchone()
        return None if row is None else json.loads(row[0])

    def _put(self, kind: str, key: int, value) -> None:
        with self._lock:
            self._db.execute("insert or replace into access values (?, ?, ?)", (kind, key, json.dumps(value)))

    def _drop(self, kind: str, key: int | None = None) -> None:
        with self._lock:
            if key is None:
                self._db.execute("delete from access where kind = ?", (kind,))
            else:
                self._db.execute("delete from access where kind = ? and key = ?", (kind, key))

    # time zones 1..50
    def time_zone(self, index: int) -> TimeZone | None:
        if not 1 <= index <= TZ_COUNT:
            return None
        days = self._get("tz", index)
        if days is None:
            days = [ALL_DAY if index == 1 else CLOSED] * 7
        return TimeZone(index, tuple(tuple(d) for d in days))

    def set_time_zone(self, tz: TimeZone) -> None:
        self._put("tz", tz.index, [list(d) for d in tz.days])

    # groups 1..99
    def group(self, number: int) -> GroupTZ | None:
        if not 1 <= number <= GROUP_COUNT:
            return None
        v = self._get("group", number)
        if v is None:
            return GroupTZ(number, (1, 0, 0) if number == 1 else (0, 0, 0))
        return GroupTZ(number, tuple(v["tzs"]), v["verify"], v["holidays"])

    def set_group(self, g: GroupTZ) -> None:
        self._put("group", g.group, {"tzs": list(g.tzs), "verify": g.verify, "holidays": g.holidays})

    # unlock combinations 1..10
    def unlock_combo(self, index: int) -> UnlockCombo | None:
        if not 1 <= index <= ULG_COUNT:
            return None
        groups = self._get("ulg", index)
        return UnlockCombo(index, tuple(groups) if groups is not None else ((1,) if index == 1 else ()))

    def set_unlock_combo(self, c: UnlockCombo) -> None:
        self._put("ulg", c.index, list(c.groups))

    # verify modes per user (uid)
    def verify_mode(self, uid: int) -> int:
        v = self._get("verify", uid)
        return VERIFY_GROUP if v is None else int(v)

    def set_verify_mode(self, uid: int, mode: int) -> None:
        if mode == VERIFY_GROUP:
            self._drop("verify", uid)
        else:
            self._put("verify", uid, mode)

    def reset(self) -> None:
        """CLEAR_ACC: time zones, groups and unlock combinations back to the factory's."""
        for kind in ("tz", "group", "ulg"):
            self._drop(kind)

    def forget_user(self, uid: int | None = None) -> None:
        """A deleted user (None: every user) loses their verify mode."""
        self._drop("verify", uid)
