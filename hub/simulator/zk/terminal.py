"""The state of one simulated ZK terminal: options, users, templates, attendance log, clock.

Persisted in one SQLite file per terminal (stdlib sqlite3), so a restarted simulator keeps
its users, templates and log. Thread-safe: the asyncio server, a CLI and a fleet driver may
call it from different threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.protocols import zk
from hub.protocols import zk_access as za
from hub.simulator.zk.access import AccessTable
from hub.simulator.zk.profiles import Profile, get_profile

SCHEMA = """
create table if not exists meta (key text primary key, value text not null);
create table if not exists users (uid integer primary key, user_id text not null, name text not null,
    privilege integer not null, password text not null, card integer not null, grp integer not null,
    tz blob not null);
create table if not exists templates (uid integer not null, fid integer not null, valid integer not null,
    template blob not null, primary key (uid, fid));
create table if not exists attlog (seq integer primary key autoincrement, uid integer not null,
    user_id text not null, time_raw integer not null, state integer not null, verify integer not null,
    workcode integer not null);
create table if not exists oplog (seq integer primary key autoincrement, admin integer not null,
    op integer not null, state integer not null, time_raw integer not null, p1 integer not null,
    p2 integer not null, p3 integer not null, p4 integer not null);
create table if not exists faces (uid integer not null, face_id integer not null, valid integer not null,
    template blob not null, primary key (uid, face_id));
"""


class TerminalError(Exception):
    """A request the terminal refuses, as a real unit would (full, unknown user, ...)."""


class CapacityError(TerminalError):
    pass


@dataclass
class Clock:
    """Device wall clock: real time + offset, drifting by drift_ppm since `anchor` (epoch s)."""

    tz: str = "Asia/Jakarta"
    offset_s: float = 0.0
    drift_ppm: float = 0.0
    anchor: float = 0.0

    def now(self, real: float | None = None) -> datetime:
        real = time.time() if real is None else real
        t = real + self.offset_s + (real - self.anchor) * self.drift_ppm / 1e6
        return datetime.fromtimestamp(t, ZoneInfo(self.tz)).replace(tzinfo=None, microsecond=0)

    def set(self, local: datetime, real: float | None = None) -> None:
        real = time.time() if real is None else real
        target = local.replace(tzinfo=ZoneInfo(self.tz)).timestamp()
        self.anchor = real
        self.offset_s = target - real


def _default_serial(prefix: str) -> str:
    return prefix + "".join(random.choice("0123456789") for _ in range(10))


def _mac_for(serial: str) -> str:
    h = hashlib.sha256(serial.encode()).digest()
    return "00:17:61:" + ":".join(f"{b:02x}" for b in h[:3])


class Terminal:
    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict) -> None:
        self.path = path
        self._db = conn
        self._lock = threading.RLock()
        self._meta = meta
        # a profile may be adjusted per terminal (capacities, framing) through profile_overrides
        self.profile: Profile = replace(get_profile(meta["profile"]), **meta.get("profile_overrides", {}))
        self.clock = Clock(meta.get("tz", "Asia/Jakarta"), meta.get("clock_offset_s", 0.0),
                           meta.get("drift_ppm", 0.0), meta.get("clock_anchor", time.time()))
        self.enabled = True
        self._listeners: list[Callable[[zk.AttRecord], None]] = []
        self._users: dict[int, zk.User] = {}
        self._templates: dict[tuple[int, int], zk.Template] = {}
        self._att: list[zk.AttRecord] = []
        self._cache: dict[str, bytes] = {}
        self.access = AccessTable(conn, self._lock)
        self._faces: dict[tuple[int, int], za.Face] = {}
        self._oplog_count = 0
        self._load()

    # --- opening ----------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("pragma journal_mode=wal")
        conn.execute("pragma synchronous=normal")
        conn.executescript(SCHEMA)
        return conn

    @classmethod
    def create(cls, path: str | Path, profile: str | Profile, serial: str | None = None, comm_key: int = 0,
               clock_offset_s: float = 0.0, drift_ppm: float = 0.0, tz: str = "Asia/Jakarta",
               device_name: str | None = None, overwrite: bool = False, options: dict[str, str] | None = None,
               profile_overrides: dict | None = None) -> Terminal:
        path = Path(path)
        prof = get_profile(profile.name if isinstance(profile, Profile) else profile)
        overrides = dict(profile_overrides or {})
        unknown = set(overrides) - set(Profile.__dataclass_fields__)
        if unknown:
            raise TerminalError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        prof = replace(prof, **overrides)
        if path.exists():
            if not overwrite:
                raise TerminalError(f"{path} already holds a terminal; use Terminal.load or overwrite=True")
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        serial = serial or _default_serial(prof.serial_prefix)
        now = time.time()
        meta = {"profile": prof.name, "serial": serial, "comm_key": int(comm_key), "mac": _mac_for(serial),
                "tz": tz, "clock_offset_s": float(clock_offset_s), "drift_ppm": float(drift_ppm),
                "clock_anchor": now, "device_name": device_name or prof.device_name,
                "options": dict(options or {}), "profile_overrides": overrides, "created": now}
        conn = cls._connect(path)
        conn.executemany("insert or replace into meta values (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        return cls(path, conn, meta)

    @classmethod
    def load(cls, path: str | Path) -> Terminal:
        path = Path(path)
        if not path.exists():
            raise TerminalError(f"no terminal state at {path}")
        conn = cls._connect(path)
        meta = {k: json.loads(v) for k, v in conn.execute("select key, value from meta")}
        if "profile" not in meta:
            raise TerminalError(f"{path} is not a terminal state file (no profile)")
        return cls(path, conn, meta)

    @classmethod
    def open_or_create(cls, path: str | Path, profile: str, **kw) -> Terminal:
        return cls.load(path) if Path(path).exists() else cls.create(path, profile, **kw)

    def _load(self) -> None:
        for uid, user_id, name, priv, pw, card, grp, tz in self._db.execute("select * from users"):
            self._users[uid] = zk.User(uid, user_id, name, priv, pw, card, grp, bytes(tz))
        for uid, fid, valid, tmpl in self._db.execute("select * from templates"):
            self._templates[(uid, fid)] = zk.Template(uid, fid, valid, bytes(tmpl))
        self._att = [zk.AttRecord(*row) for row in self._db.execute(
            "select uid, user_id, time_raw, state, verify, workcode from attlog order by seq")]
        for uid, face_id, valid, tmpl in self._db.execute("select * from faces"):
            self._faces[(uid, face_id)] = za.Face(uid, face_id, bytes(tmpl), valid)
        self._oplog_count = self._db.execute("select count(*) from oplog").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _save_meta(self, key: str, value) -> None:
        self._meta[key] = value
        self._db.execute("insert or replace into meta values (?, ?)", (key, json.dumps(value)))

    # --- identity and options ---------------------------------------------------------
    @property
    def serial(self) -> str:
        return self._meta["serial"]

    @property
    def comm_key(self) -> int:
        return int(self._meta.get("comm_key", 0))

    def set_comm_key(self, key: int) -> None:
        """IT changes the unit's comm key (menu: Comm. > Comm Key)."""
        self._meta["comm_key"] = int(key)
        self._save_meta("comm_key", int(key))

    @property
    def mac(self) -> str:
        return self._meta["mac"]

    def options(self) -> dict[str, str]:
        p = self.profile
        opts = {
            "~SerialNumber": self.serial, "~Platform": p.platform, "~DeviceName": self._meta["device_name"],
            "MAC": self.mac, "~ZKFPVersion": str(p.fp_version), "~OS": "1", "WorkCode": "0",
            "~PIN2Width": str(p.pin_width), "~SSR": "1" if p.ssr else "0", "~OEMVendor": "ZKTeco Inc.",
            "~ProductTime": "2019-05-03 10:12:44", "IPAddress": "127.0.0.1", "NetMask": "255.255.255.0",
            "GATEIPAddress": "0.0.0.0", "FingerFunOn": "1", "DeviceID": "1", "Language": "69",
            "~IsOnlyRFMachine": "0", "~RFCardOn": "0", "CompatOldFirmware": "0" if p.user_size == 72 else "1",
        }
        if p.user_size == 72:
            opts["ZKFaceVersion"] = str(p.face_version)
        opts.update(p.extra_options)
        opts.update(self._meta.get("options", {}))
        return opts

    def option(self, name: str) -> str | None:
        return self.options().get(name)

    def set_option(self, name: str, value: str) -> None:
        if name.startswith("~"):
            raise TerminalError(f"option {name} is read-only")
        with self._lock:
            opts = dict(self._meta.get("options", {}))
            opts[name] = value
            self._save_meta("options", opts)

    # --- clock ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def set_time(self, local: datetime) -> None:
        with self._lock:
            self.clock.set(local)
            self._save_meta("clock_offset_s", self.clock.offset_s)
            self._save_meta("clock_anchor", self.clock.anchor)

    def set_clock(self, offset_s: float | None = None, drift_ppm: float | None = None) -> None:
        with self._lock:
            if offset_s is not None:
                self.clock.offset_s, self.clock.anchor = offset_s, time.time()
            if drift_ppm is not None:
                self.clock.drift_ppm = drift_ppm
            for k, v in (("clock_offset_s", self.clock.offset_s), ("clock_anchor", self.clock.anchor),
                         ("drift_ppm", self.clock.drift_ppm)):
                self._save_meta(k, v)

    # --- users ------------------------------------------------------------------------
    def users(self) -> list[zk.User]:
        with self._lock:
            return sorted(self._users.values(), key=lambda u: u.uid)

    def get_user(self, uid: int) -> zk.User | None:
        with self._lock:
            return self._users.get(uid)

    def user_by_id(self, user_id: str) -> zk.User | None:
        with self._lock:
            return next((u for u in self._users.values() if u.user_id == user_id), None)

    def set_user(self, user: zk.User) -> None:
        p = self.profile
        if not 1 <= user.uid <= 0xFFFF:
            raise TerminalError(f"uid {user.uid} outside 1..65535")
        if not user.user_id or len(user.user_id) > p.pin_width:
            raise TerminalError(f"user_id {user.user_id!r} is empty or longer than PIN width {p.pin_width}")
        zk.encode_user(user, p.user_size)  # raises when the record cannot hold it
        with self._lock:
            other = self.user_by_id(user.user_id)
            if other is not None and other.uid != user.uid:
                raise TerminalError(f"user_id {user.user_id} already belongs to uid {other.uid}")
            new = user.uid not in self._users
            if new and len(self._users) >= p.users_cap:
                raise CapacityError(f"user capacity {p.users_cap} reached")
            self._users[user.uid] = user
            if new:
                self.log_op(za.OP_ENROLL_USER, user.uid)
            self._db.execute("insert or replace into users values (?,?,?,?,?,?,?,?)",
                             (user.uid, user.user_id, user.name, user.privilege, user.password, user.card,
                              user.group, user.tz))
            self._cache.pop("users", None)

    @contextlib.contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """One transaction; on failure the stored state and the memory of it are as before."""
        with self._lock:
            self._db.execute("begin")
            try:
                yield
            except BaseException:
                self._db.execute("rollback")
                self._users.clear()
                self._templates.clear()
                self._faces.clear()
                self._cache.clear()
                self._load()
                raise
            self._db.execute("commit")

    def set_users(self, users: Iterable[zk.User]) -> None:
        with self._all_or_nothing():
            for u in users:
                self.set_user(u)

    def fill_users(self, count: int) -> int:
        """Top the terminal up to users 1..count ("Pegawai N", cut to the profile's name
        field); returns how many were added."""
        have = {u.uid for u in self.users()}
        width = 8 if self.profile.user_size == 28 else 24
        missing = [uid for uid in range(1, count + 1) if uid not in have]
        self.set_users(zk.User(uid, str(uid), f"Pegawai {uid}"[:width]) for uid in missing)
        return len(missing)

    def delete_user(self, uid: int) -> bool:
        with self._lock:
            if self._users.pop(uid, None) is None:
                return False
            self._db.execute("delete from users where uid = ?", (uid,))
            self._db.execute("delete from templates where uid = ?", (uid,))
            self._db.execute("delete from faces where uid = ?", (uid,))
            for key in [k for k in self._templates if k[0] == uid]:
                del self._templates[key]
            for key in [k for k in self._faces if k[0] == uid]:
                del self._faces[key]
            self.access.forget_user(uid)
            self.log_op(za.OP_DELETE_USER, uid)
            self._cache.pop("users", None)
            self._cache.pop("templates", None)
            return True

    # --- templates --------------------------------------------------------------------
    def templates(self) -> list[zk.Template]:
        with self._lock:
            return [self._templates[k] for k in sorted(self._templates)]

    def get_template(self, uid: int, fid: int) -> zk.Template | None:
        with self._lock:
            return self._templates.get((uid, fid))

    def set_template(self, t: zk.Template) -> None:
        zk.encode_template(t)
        with self._lock:
            if t.uid not in self._users:
                raise TerminalError(f"no user with uid {t.uid} for a template")
            new = (t.uid, t.fid) not in self._templates
            if new and len(self._templates) >= self.profile.fingers_cap:
                raise CapacityError(f"fingerprint capacity {self.profile.fingers_cap} reached")
            self._templates[(t.uid, t.fid)] = t
            if new:
                self.log_op(za.OP_ENROLL_FINGER, t.uid, t.fid)
            self._db.execute("insert or replace into templates values (?,?,?,?)", (t.uid, t.fid, t.valid, t.template))
            self._cache.pop("templates", None)

    def delete_template(self, uid: int, fid: int | None = None) -> bool:
        with self._lock:
            keys = [k for k in self._templates if k[0] == uid and (fid is None or k[1] == fid)]
            for k in keys:
                del self._templates[k]
            if fid is None:
                self._db.execute("delete from templates where uid = ?", (uid,))
            else:
                self._db.execute("delete from templates where uid = ? and fid = ?", (uid, fid))
            self._cache.pop("templates", None)
            for k in keys:
                self.log_op(za.OP_DELETE_FINGER, uid, k[1])
            return bool(keys)

    # --- attendance -------------------------------------------------------------------
    def attendance(self) -> list[zk.AttRecord]:
        with self._lock:
            return list(self._att)

    def add_listener(self, fn: Callable[[zk.AttRecord], None]) -> None:
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[zk.AttRecord], None]) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def _append(self, recs: list[zk.AttRecord]) -> None:
        cap = self.profile.rec_cap
        if len(self._att) + len(recs) > cap:
            raise CapacityError(f"attendance capacity {cap} reached ({len(self._att)} stored, {len(recs)} more)")
        size = self.profile.att_size
        encoded = b"".join(zk.encode_att(r, size) for r in recs)  # raises before anything is stored
        self._db.execute("begin")
        self._db.executemany("insert into attlog (uid, user_id, time_raw, state, verify, workcode) "
                             "values (?,?,?,?,?,?)",
                             [(r.uid, r.user_id, r.time_raw, r.state, r.verify, r.workcode) for r in recs])
        self._db.execute("commit")
        self._att.extend(recs)
        if "attlog" in self._cache:  # append-only: extend the encoded buffer instead of rebuilding it
            self._cache["attlog"] += encoded

    def punch(self, user_id: str | int, when: datetime | None = None, state: int = 0, verify: int = 1,
              live: bool = True, workcode: int = 0) -> zk.AttRecord:
        """A person punches at the terminal (device-local time; default: the device clock)."""
        user_id = str(user_id)
        with self._lock:
            user = self.user_by_id(user_id)
            if user is None:
                raise TerminalError(f"user_id {user_id} is not enrolled on terminal {self.serial}")
            rec = zk.AttRecord(user.uid, user_id, zk.encode_time(when or self.now()), state, verify, workcode)
            self._append([rec])
            listeners = list(self._listeners) if live else []
        for fn in listeners:
            fn(rec)
        return rec

    def bulk_punch(self, records: Iterable[zk.AttRecord | tuple]) -> int:
        """Append many records at once, no realtime events. Tuples are
        (user_id, when, state, verify); AttRecords are stored verbatim (so a corrupt
        time_raw can be planted on purpose)."""
        with self._lock:
            by_id = {u.user_id: u.uid for u in self._users.values()}
            recs = []
            for r in records:
                if not isinstance(r, zk.AttRecord):
                    user_id, when, *rest = r
                    state, verify = (list(rest) + [0, 1][len(rest):])[:2]
                    user_id = str(user_id)
                    r = zk.AttRecord(by_id.get(user_id, 0), user_id, zk.encode_time(when), state, verify)
                recs.append(r)
            self._append(recs)
            return len(recs)

    def clear_attendance(self) -> None:
        with self._lock:
            self._db.execute("delete from attlog")
            self._att.clear()
            self._cache.pop("attlog", None)
            self.log_op(za.OP_CLEAR_DATA, zk.FCT_ATTLOG)

    def clear_data(self, kind: int | None = None) -> None:
        """CLEAR_DATA: None = everything; 1 attendance, 2 fingerprints, 4 operation log,
        5 users (+their templates and faces). The clear itself is logged, as units do."""
        with self._lock:
            if kind in (None, 1):
                self._db.execute("delete from attlog")
                self._att.clear()
                self._cache.pop("attlog", None)
            if kind in (None, 2, 5):
                self._db.execute("delete from templates")
                self._templates.clear()
                self._cache.pop("templates", None)
            if kind in (None, 5):
                self._db.execute("delete from users")
                self._db.execute("delete from faces")
                self._users.clear()
                self._faces.clear()
                self.access.forget_user()
                self._cache.pop("users", None)
            if kind in (None, 4):
                self.clear_oplog(log=False)
            self.log_op(za.OP_CLEAR_DATA, kind or 0)

    # --- operation log ----------------------------------------------------------------
    def log_op(self, op: int, *params: int, admin: int = 0) -> None:
        """Append one operation-log entry at the device clock; the oldest go past capacity."""
        p = (tuple(params) + (0, 0, 0, 0))[:4]
        with self._lock:
            self._db.execute("insert into oplog (admin, op, state, time_raw, p1, p2, p3, p4) "
                             "values (?,?,?,?,?,?,?,?)", (admin, op, 0, zk.encode_time(self.now()), *p))
            self._oplog_count += 1
            cap = self.profile.oplog_cap
            if self._oplog_count > cap + cap // 10:  # trim in steps, not on every entry
                self._db.execute("delete from oplog where seq not in "
                                 "(select seq from oplog order by seq desc limit ?)", (cap,))
                self._oplog_count = cap
            self._cache.pop("oplog", None)

    def oplog(self) -> list[za.OpLogEntry]:
        with self._lock:
            return [za.OpLogEntry(op, t, (p1, p2, p3, p4), admin, state) for admin, op, state, t, p1, p2, p3, p4
                    in self._db.execute("select admin, op, state, time_raw, p1, p2, p3, p4 from oplog order by seq")]

    def clear_oplog(self, log: bool = True) -> None:
        with self._lock:
            self._db.execute("delete from oplog")
            self._oplog_count = 0
            self._cache.pop("oplog", None)
            if log:
                self.log_op(za.OP_CLEAR_DATA, zk.FCT_OPLOG)

    # --- faces (face profiles) --------------------------------------------------------
    def faces(self, uid: int | None = None) -> list[za.Face]:
        with self._lock:
            return [self._faces[k] for k in sorted(self._faces) if uid is None or k[0] == uid]

    def set_faces(self, faces: Iterable[za.Face]) -> None:
        """Many faces in one transaction (a unit's faces as enrolled over the years)."""
        with self._all_or_nothing():
            for f in faces:
                self.set_face(f)

    def set_face(self, face: za.Face) -> None:
        """A face enrolled at the unit (the simulator's stand-in for a person in front of it)."""
        p = self.profile
        if not p.face:
            raise TerminalError(f"{p.name} terminals hold no faces")
        za.encode_face(face)  # raises when the entry cannot hold it
        with self._lock:
            if face.uid not in self._users:
                raise TerminalError(f"no user with uid {face.uid} for a face")
            users_with_faces = {k[0] for k in self._faces}
            if face.uid not in users_with_faces and len(users_with_faces) >= p.faces_cap:
                raise CapacityError(f"face capacity {p.faces_cap} reached")
            self._faces[(face.uid, face.face_id)] = face
            self._db.execute("insert or replace into faces values (?,?,?,?)",
                             (face.uid, face.face_id, face.valid, face.template))

    # --- what the protocol serves -----------------------------------------------------
    def sizes(self) -> zk.Sizes:
        p = self.profile
        with self._lock:
            admins = sum(1 for u in self._users.values() if u.privilege & 0x0E)
            pws = sum(1 for u in self._users.values() if u.password)
            faces = len({k[0] for k in self._faces}) if p.face else None
            return zk.Sizes(len(self._users), len(self._templates), len(self._att), self._oplog_count, admins,
                            pws, p.fingers_cap, p.users_cap, p.rec_cap, faces=faces, faces_cap=p.faces_cap)

    def buffer(self, kind: str) -> bytes:
        """The records of one read (`users`, `attlog`, `templates`) as a size-prefixed buffer;
        encoded once and kept until the data changes."""
        with self._lock:
            payload = self._cache.get(kind)
            if payload is None:
                size = self.profile
                if kind == "users":
                    payload = b"".join(zk.encode_user(u, size.user_size) for u in self.users())
                elif kind == "attlog":
                    payload = b"".join(zk.encode_att(r, size.att_size) for r in self._att)
                elif kind == "templates":
                    payload = b"".join(zk.encode_template(t) for t in self.templates())
                elif kind == "oplog":
                    payload = b"".join(za.encode_oplog(e) for e in self.oplog())
                else:
                    raise ValueError(f"unknown buffer kind {kind!r}")
                self._cache[kind] = payload
            return zk.size_prefixed(payload)
