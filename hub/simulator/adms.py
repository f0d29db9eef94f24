"""A simulated ZKTeco ADMS (iclock) terminal: an HTTP client with a store-and-forward buffer.

It keeps every record it has not seen acknowledged with `OK` and sends it again after
`error_delay_s`, as firmware does after a failed or non-2xx upload (A.8). Commands from
`getrequest` are run once per id and their results posted to `devicecmd`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import islice

import httpx

from hub.protocols import adms
from hub.simulator.terminal_state import Record, TerminalState

ADMS_TO_OP = {"DATA UPDATE USERINFO": "user.upsert", "DATA DELETE USERINFO": "user.delete",
              "DATA UPDATE BIODATA": "template.set", "DATA UPDATE BIOPHOTO": "face.set",
              "CHECK": "device.time.set", "DATA QUERY ATTLOG": "events.resend",
              "DATA QUERY USERINFO": "users.list"}


@dataclass
class AdmsTerminal:
    serial: str
    base_url: str
    state: TerminalState = field(init=False)
    batch: int = 100
    error_delay_s: float = 0.3
    poll_s: float = 0.5
    timeout_s: float = 5.0
    pending: deque[tuple[int, Record]] = field(default_factory=deque)
    recorded: int = 0
    posts_ok: int = 0
    posts_failed: int = 0
    handshakes: int = 0
    options: dict[str, str] = field(default_factory=dict)
    # PUSH 3.x firmware: registers once, then carries a session token on every request
    push3: bool = False
    local_address: str | None = None  # the source address it calls from (tests: 127.0.0.x)
    registry_code: str | None = None
    session_id: str | None = None
    refusals: int = 0

    def __post_init__(self) -> None:
        self.state = TerminalState(self.serial)
        self._lock = threading.Lock()
        transport = httpx.HTTPTransport(local_address=self.local_address) if self.local_address else None
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout_s, transport=transport)
        self._handshaken = False

    def close(self) -> None:
        self._http.close()

    # --- what happens at the terminal ----------------------------------------------------

    def punch(self, record: Record) -> None:
        """A person punched: the record goes to the log and the outbox."""
        with self._lock:
            self.state.log.append(record)
            self.recorded += 1
            self.pending.append((self.recorded, record))

    def outbox(self) -> int:
        return len(self.pending)

    # --- what goes over the wire ---------------------------------------------------------

    def _saw(self, r: httpx.Response) -> None:
        if r.status_code in (401, 403):
            self.refusals += 1
            if self.push3 and r.status_code == 401:
                self._handshaken = False  # session gone: ask /iclock/push for a new one

    def handshake(self) -> bool:
        if self.push3:
            return self._push3_setup()
        try:
            r = self._http.get("/iclock/cdata", params={"SN": self.serial, "options": "all",
                                                        "pushver": "2.4.1", "language": "69"})
        except httpx.HTTPError:
            return False
        self._saw(r)
        if r.status_code != 200:
            return False
        self.options = adms.parse_handshake_reply(r.text)
        self.handshakes += 1
        self._handshaken = True
        return True

    def _push3_setup(self) -> bool:
        """POST /iclock/registry once (keeping the RegistryCode), then /iclock/push for a
        SessionID; later requests carry Cookie: token=MD5(RegistryCode+SN+SessionID)."""
        try:
            if self.registry_code is None:
                r = self._http.post("/iclock/registry", params={"SN": self.serial},
                                    content=adms.format_registry({
                                        "DeviceType": "att", "~DeviceName": "SpeedFace-V5L",
                                        "FirmVer": "ZAM180-NF-Ver1.0.2", "PushVersion": "3.1.2"}).encode())
                self._saw(r)
                if r.status_code != 200:
                    return False
                self.registry_code = adms.parse_kv_reply(r.text).get("RegistryCode")
                if not self.registry_code:
                    return False
            r = self._http.post("/iclock/push", params={"SN": self.serial})
        except httpx.HTTPError:
            return False
        self._saw(r)
        if r.status_code != 200:
            return False
        self.options = adms.parse_kv_reply(r.text)
        self.session_id = self.options.get("SessionID", "")
        self._http.cookies.set("token", adms.session_token(self.registry_code, self.serial, self.session_id))
        self.handshakes += 1
        self._handshaken = True
        return True

    def upload_once(self) -> bool:
        """POST the oldest unsent batch; drop it from the outbox only on `OK`."""
        with self._lock:
            batch = list(islice(self.pending, self.batch))
        if not batch:
            return True
        body = adms.format_attlog([rec for _, rec in batch])
        try:
            r = self._http.post("/iclock/cdata", params={"SN": self.serial, "table": "ATTLOG",
                                                         "Stamp": str(batch[-1][0])},
                                content=body.encode())
        except httpx.HTTPError:
            self.posts_failed += 1
            return False
        self._saw(r)
        if r.status_code == 200 and r.text.startswith("OK"):
            with self._lock:
                for _ in batch:
                    self.pending.popleft()
            self.posts_ok += 1
            return True
        self.posts_failed += 1
        return False

    def poll_commands(self) -> int:
        try:
            r = self._http.get("/iclock/getrequest", params={"SN": self.serial})
        except httpx.HTTPError:
            return 0
        self._saw(r)
        if r.status_code != 200 or r.text.strip() == "OK":
            return 0
        results = []
        for line in r.text.splitlines():
            if not line.startswith("C:"):
                continue
            cid, verb, fields = adms.parse_command_line(line)
            op = ADMS_TO_OP.get(verb, verb)
            data = _data_for(op, fields)
            status, code, _msg = self.state.run(cid, op, data)
            if op == "events.resend" and self.state.executions.get(cid) == 1 \
                    and status == "done":
                self._requeue(fields.get("StartTime", ""), fields.get("EndTime", ""))
            if op == "users.list" and status == "done":
                self._upload_users(fields.get("PIN"))
            results.append((cid, code if status == "done" else min(code, -1), verb.split()[0]))
        if results:
            with contextlib.suppress(httpx.HTTPError):
                self._http.post("/iclock/devicecmd", params={"SN": self.serial},
                                content=adms.format_devicecmd(results).encode())
        return len(results)

    def _upload_users(self, pin: str | None) -> None:
        """DATA QUERY USERINFO: the users it holds, as OPERLOG USER lines (as firmware does)."""
        with self.state.lock:
            users = [(p, u) for p, u in sorted(self.state.users.items()) if pin in (None, "", p)]
        body = "".join(adms.format_user_line(p, str(u.get("name", ""))) for p, u in users)
        with contextlib.suppress(httpx.HTTPError):
            r = self._http.post("/iclock/cdata", params={"SN": self.serial, "table": "OPERLOG", "Stamp": "0"},
                                content=body.encode())
            self._saw(r)

    def _requeue(self, start: str, end: str) -> None:
        with self._lock:
            for n, rec in enumerate(self.state.log, start=1):
                stamp = f"{rec[1]:%Y-%m-%d %H:%M:%S}"
                if (not start or stamp >= start) and (not end or stamp <= end):
                    self.pending.append((n, rec))

    def step(self) -> None:
        """One turn of the firmware loop: handshake if needed, upload, poll."""
        if not self._handshaken and not self.handshake():
            time.sleep(self.error_delay_s)
            return
        while self.pending:
            if not self.upload_once():
                time.sleep(self.error_delay_s)
                return
        self.poll_commands()


def _data_for(op: str, f: dict[str, str]) -> dict:
    if op == "user.upsert":
        return {"user": {"id": f.get("PIN", ""), "name": f.get("Name", ""),
                         "card": f.get("Card", "")}}
    if op == "user.delete":
        return {"user_id": f.get("PIN", "")}
    if op == "users.list":
        return {"user_id": f.get("PIN", "")}
    if op == "template.set":
        return {"user_id": f.get("Pin", ""), "no": int(f.get("No", "0") or 0),
                "data_b64": f.get("Tmp", "")}
    if op == "face.set":
        return {"user_id": f.get("PIN", ""), "photo": {"sha256": f.get("Content", "")[:16],
                                                       "size": len(f.get("Content", ""))}}
    return dict(f)


def run_adms_terminal(serial: str, base_url: str, records: list[Record],
                      stop: threading.Event, rate_per_s: float | None = None,
                      poll_s: float = 0.5, batch: int = 100,
                      drain_timeout_s: float = 60.0) -> AdmsTerminal:
    """Fleet entry point: record `records` (at `rate_per_s`, or all at once) and push them;
    after `stop` is set, keep pushing until the outbox is empty (at most `drain_timeout_s`).
    Returns the terminal for checks."""
    term = AdmsTerminal(serial, base_url, batch=batch, poll_s=poll_s)
    todo = deque(records)
    started = time.monotonic()
    stopped_at: float | None = None
    try:
        while True:
            if stop.is_set():
                stopped_at = stopped_at or time.monotonic()
                for _ in range(len(todo)):
                    term.punch(todo.popleft())
                if not term.pending or time.monotonic() - stopped_at > drain_timeout_s:
                    break
            elif rate_per_s is None:
                while todo:
                    term.punch(todo.popleft())
            else:
                due = int((time.monotonic() - started) * rate_per_s) - (len(records) - len(todo))
                for _ in range(max(0, min(due, len(todo)))):
                    term.punch(todo.popleft())
            term.step()
            time.sleep(poll_s if not term.pending else 0)
    finally:
        term.close()
    return term
