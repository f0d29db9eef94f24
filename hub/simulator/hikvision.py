"""A simulated Hikvision ISAPI face terminal (MinMoe DS-K1T341 and kin), served over real HTTP.

It behaves as firmware does (reference/push-protocols.md section C), not as our client
would like: every request needs HTTP Digest (a Basic attempt gets the Digest challenge),
the event search pages by searchID/searchResultPosition and caps a page at `page_cap`
(asking for more returns `page_cap`, status MORE), events carry a serialNo that only
grows and times with the terminal's own offset (its zone, plus its clock's drift), and
errors answer with statusCode/subStatusCode bodies. Faults for tests: the link dropped in
the middle of a page, slow answers, a login that always fails.
"""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.protocols import isapi

FACE = 0x4B
FINGER = 0x26
CARD = 0x01
REALM = "DS-K1T341AMF"


@dataclass
class Faults:
    drop_after_pages: int | None = None  # cut the link in the middle of the page after this many
    slow_s: float = 0.0  # every answer waits this long
    bad_login: bool = False  # every Digest answer is refused (a changed password)


@dataclass
class HikTerminal:
    """The terminal's state: its event log, users and faces, clock and identity."""

    serial: str = "DS-K1T341AMF20260001"
    model: str = "DS-K1T341AMF"
    firmware: str = "V3.2.30 build 230517"
    username: str = "admin"
    password: str = "Hik12345"  # noqa: S105 - a simulator's default, as shipped
    utc_offset_h: float = 7.0  # WIB 7, WITA 8, WIT 9
    drift_s: float = 0.0  # how far its clock is off
    page_cap: int = 30
    events_cap: int = 100_000
    users_cap: int = 3_000
    faces_cap: int = 3_000
    events: list[isapi.Event] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    faces: dict[str, bytes] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.next_serial = 1
        self.nonces: set[str] = set()
        self.pages_served = 0
        self.requests = 0
        self.searches: dict[tuple[str, str], list[isapi.Event]] = {}
        # HTTP listening: where events are posted as they happen (None: nobody listens)
        self.listener: tuple[str, int, str] | None = None
        self.outbox: queue.Queue[isapi.Event] = queue.Queue()
        self.posted = 0
        self.post_failures = 0
        self._sender: threading.Thread | None = None
        self.streams: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []  # alertStream subscribers

    @property
    def zone(self) -> timezone:
        return timezone(timedelta(hours=self.utc_offset_h))

    def now(self) -> datetime:
        return (datetime.now(UTC) + timedelta(seconds=self.drift_s)).astimezone(self.zone)

    # --- what happens at the terminal ---------------------------------------------------------

    def add(self, major: int, minor: int, when: datetime | None = None, employee_no: str = "", name: str = "",
            attendance: str = "", card_no: str = "") -> isapi.Event:
        """An event in the log; `when` naive is the terminal's local time."""
        when = when or self.now()
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.zone)
        with self.lock:
            ev = isapi.Event(serial_no=self.next_serial, major=major, minor=minor, time=when.replace(microsecond=0),
                             employee_no=employee_no, name=name, card_no=card_no, attendance=attendance, door_no=1,
                             verify_mode="faceOrFpOrCardOrPw")
            self.next_serial += 1
            self.events.append(ev)
            if len(self.events) > self.events_cap:  # a full log overwrites its oldest entries
                del self.events[0]
        if self.listener is not None:
            self.outbox.put(ev)
        for loop, q in list(self.streams):
            loop.call_soon_threadsafe(q.put_nowait, ev)
        return ev

    def cut_streams(self) -> None:
        """Every open alertStream ends abruptly (a terminal rebooting, a cable pulled)."""
        for loop, q in list(self.streams):
            loop.call_soon_threadsafe(q.put_nowait, None)

    def listen(self, ip: str, port: int, path: str) -> None:
        """Post every new event to http://ip:port/path (as httpHosts configures it)."""
        self.listener = (ip, port, path)
        if self._sender is None:
            self._sender = threading.Thread(target=self._send_loop, daemon=True, name=f"hik-post-{self.serial}")
            self._sender.start()

    def _send_loop(self) -> None:
        import httpx  # noqa: PLC0415

        with httpx.Client(timeout=5) as http:
            while True:
                ev = self.outbox.get()
                for _attempt in range(20):  # firmware retries a while; a pull closes any gap after
                    target = self.listener
                    if target is None:
                        break
                    ip, port, path = target
                    body = json.dumps(isapi.notification_body(ev, "127.0.0.1", "bc:ba:c2:00:00:01"))
                    try:
                        r = http.post(f"http://{ip}:{port}{path}", files={
                            "event_log": (None, body, "application/json")})
                        if r.status_code < 300:
                            self.posted += 1
                            break
                    except httpx.HTTPError:
                        pass
                    self.post_failures += 1
                    time.sleep(0.5)

    def punch(self, employee_no: str, when: datetime | None = None, minor: int = FACE,
              attendance: str = "checkIn") -> isapi.Event:
        user = self.users.get(employee_no, {})
        return self.add(isapi.MAJOR_ACCESS, minor, when, employee_no, user.get("name", ""), attendance)

    def stranger(self, when: datetime | None = None) -> isapi.Event:
        """A face the terminal does not know: an event without an employee."""
        return self.add(isapi.MAJOR_ACCESS, isapi.FACE_FAILED, when)

    def door_alarm(self, when: datetime | None = None) -> isapi.Event:
        return self.add(1, 0x400, when)  # an alarm (major 1): the door held open

    def bulk(self, punches: list[tuple[str, datetime, int, str]]) -> None:
        for employee_no, when, minor, attendance in punches:
            self.punch(employee_no, when, minor, attendance)

    def reset_log(self) -> None:
        """The log cleared at the device: serial numbers start again at 1."""
        with self.lock:
            self.events.clear()
            self.next_serial = 1

    # --- searching ------------------------------------------------------------------------------

    def matching(self, cond: dict[str, Any]) -> list[isapi.Event]:
        major = int(cond.get("major", 0) or 0)
        minor = int(cond.get("minor", 0) or 0)
        start = isapi.parse_time(cond["startTime"], "AcsEventCond.startTime") if cond.get("startTime") else None
        end = isapi.parse_time(cond["endTime"], "AcsEventCond.endTime") if cond.get("endTime") else None
        with self.lock:
            events = list(self.events)
        return [e for e in events if (not major or e.major == major) and (not minor or e.minor == minor)
                and (start is None or e.time >= start) and (end is None or e.time <= end)]


def _status(http: int, code: int, string: str, sub: str, message: str = "") -> JSONResponse:
    return JSONResponse(isapi.status_reply(code, string, sub, message), status_code=http)


def app_for(term: HikTerminal) -> Starlette:
    """The terminal's web server: ISAPI under /ISAPI, Digest on every request."""

    def challenge() -> Response:
        nonce = secrets.token_hex(16)
        term.nonces.add(nonce)
        return Response(status_code=401, media_type="application/xml",
                        content=b'<?xml version="1.0" encoding="UTF-8"?>\n<userCheck><statusValue>401</statusValue>'
                                b"<statusString>Unauthorized</statusString></userCheck>\n",
                        headers={"WWW-Authenticate": f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", opaque='
                                                     f'"{secrets.token_hex(8)}", algorithm="MD5", stale="FALSE"'})

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("digest "):
            return False
        try:
            params = isapi.parse_digest(header)
        except isapi.IsapiError:
            return False
        if term.faults.bad_login or params.get("username") != term.username or params.get("nonce") not in term.nonces:
            return False
        return secrets.compare_digest(params.get("response", ""),
                                      isapi.digest_expected(params, request.method, term.password))

    async def guard(request: Request, handler: Any) -> Response:
        term.requests += 1
        if term.faults.slow_s:
            await asyncio.sleep(term.faults.slow_s)
        if not authorised(request):
            return challenge()
        try:
            return await handler(request)
        except isapi.IsapiError as exc:
            return _status(400, 6, "Invalid Content", "badParameters", str(exc))

    async def body_json(request: Request) -> dict[str, Any]:
        try:
            doc = json.loads(await request.body())
        except ValueError:
            raise isapi.IsapiError("badJsonContent") from None
        if not isinstance(doc, dict):
            raise isapi.IsapiError("badJsonContent")
        return doc

    async def status(request: Request) -> Response:
        async def h(_r: Request) -> Response:
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<DeviceStatus version="2.0" xmlns="{isapi.XMLNS}">'
                    f"<currentDeviceTime>{isapi.format_time(term.now())}</currentDeviceTime>"
                    f"<deviceUpTime>{int(time.monotonic())}</deviceUpTime></DeviceStatus>\n")
            return Response(body, media_type="application/xml")
        return await guard(request, h)

    async def device_info(request: Request) -> Response:
        async def h(r: Request) -> Response:
            fields = {"deviceName": "Pintu Lobi", "deviceID": "1", "model": term.model, "serialNumber": term.serial,
                      "macAddress": "bc:ba:c2:00:00:01", "firmwareVersion": term.firmware,
                      "deviceType": "ACS"}
            if r.query_params.get("format") == "json":
                return JSONResponse({"DeviceInfo": fields})
            return Response(isapi.device_info_xml(fields), media_type="application/xml")
        return await guard(request, h)

    async def capabilities(request: Request) -> Response:
        async def h(_r: Request) -> Response:
            return JSONResponse({"AcsCfg": {"isSupportAcsEvent": True}, "UserInfo": {"maxRecordNum": term.users_cap},
                                 "FDLib": {"maxFaceNum": term.faces_cap}, "AcsEvent": {"maxRecordNum": term.events_cap,
                                                                                       "maxResults": term.page_cap}})
        return await guard(request, h)

    async def total(request: Request) -> Response:
        async def h(r: Request) -> Response:
            cond = (await body_json(r)).get("AcsEventTotalNumCond")
            if not isinstance(cond, dict):
                raise isapi.IsapiError("AcsEventTotalNumCond")
            return JSONResponse({"AcsEventTotalNum": {"totalNum": len(term.matching(cond))}})
        return await guard(request, h)

    async def search(request: Request) -> Response:
        async def h(r: Request) -> Response:
            cond = (await body_json(r)).get("AcsEventCond")
            if not isinstance(cond, dict) or "searchID" not in cond:
                raise isapi.IsapiError("AcsEventCond.searchID")
            position = int(cond.get("searchResultPosition", 0))
            wanted = int(cond.get("maxResults", term.page_cap))
            if position < 0 or wanted < 1:
                raise isapi.IsapiError("searchResultPosition/maxResults")
            # a search keeps its result under its searchID while it is paged, as firmware does
            key = (str(cond["searchID"]), json.dumps({k: v for k, v in cond.items()
                                                       if k not in ("searchResultPosition", "maxResults")},
                                                      sort_keys=True))
            found = term.searches.get(key) if position else None
            if found is None:
                found = term.matching(cond)
                if cond.get("timeReverseOrder") is True:
                    found.reverse()
                term.searches = {**dict(list(term.searches.items())[-7:]), key: found}
            page = found[position:position + min(wanted, term.page_cap)]
            more = position + len(page) < len(found)
            reply = isapi.search_reply(str(cond["searchID"]), page, len(found), more)
            term.pages_served += 1
            drop = term.faults.drop_after_pages
            if drop is not None and term.pages_served > drop:
                term.faults.drop_after_pages = None  # once: the link comes back
                return Dropped(json.dumps(reply).encode())
            return JSONResponse(reply)
        return await guard(request, h)

    def refused(sub: str, message: str = "", http: int = 400) -> JSONResponse:
        return _status(http, 6, "Invalid Content", sub, message)

    async def user_record(request: Request) -> Response:
        async def h(r: Request) -> Response:
            u = (await body_json(r)).get("UserInfo")
            if not isinstance(u, dict) or not u.get("employeeNo"):
                raise isapi.IsapiError("UserInfo.employeeNo")
            number = str(u["employeeNo"])
            modify = r.url.path.endswith("/Modify")
            with term.lock:
                if modify and number not in term.users:
                    return refused("employeeNoNotExist")
                if not modify and number in term.users:
                    return refused("deviceUserAlreadyExist")
                if not modify and len(term.users) >= term.users_cap:
                    return refused("deviceUserFull", http=400)
                term.users[number] = {"employeeNo": number, "name": isapi.name_for(str(u.get("name", ""))),
                                      "Valid": u.get("Valid", {})}
            return JSONResponse(isapi.status_reply())
        return await guard(request, h)

    async def user_delete(request: Request) -> Response:
        async def h(r: Request) -> Response:
            cond = (await body_json(r)).get("UserInfoDelCond")
            if not isinstance(cond, dict) or not isinstance(cond.get("EmployeeNoList"), list):
                raise isapi.IsapiError("UserInfoDelCond.EmployeeNoList")
            with term.lock:
                for item in cond["EmployeeNoList"]:
                    number = str(item.get("employeeNo", "")) if isinstance(item, dict) else ""
                    term.users.pop(number, None)
                    term.faces.pop(number, None)  # a person's face goes with them
            return JSONResponse(isapi.status_reply())
        return await guard(request, h)

    async def user_search(request: Request) -> Response:
        async def h(r: Request) -> Response:
            cond = (await body_json(r)).get("UserInfoSearchCond")
            if not isinstance(cond, dict):
                raise isapi.IsapiError("UserInfoSearchCond")
            position, wanted = int(cond.get("searchResultPosition", 0)), int(cond.get("maxResults", term.page_cap))
            with term.lock:
                users = sorted(term.users.values(), key=lambda u: u["employeeNo"])
            page = users[position:position + min(wanted, term.page_cap)]
            more = position + len(page) < len(users)
            status = "MORE" if more else ("OK" if page else "NO MATCH")
            return JSONResponse({"UserInfoSearch": {"searchID": cond.get("searchID", ""), "responseStatusStrg": status,
                                                    "numOfMatches": len(page), "totalMatches": len(users),
                                                    **({"UserInfo": page} if page else {})}})
        return await guard(request, h)

    async def user_count(request: Request) -> Response:
        async def h(_r: Request) -> Response:
            return JSONResponse({"UserInfoCount": {"userNumber": len(term.users)}})
        return await guard(request, h)

    async def face_record(request: Request) -> Response:
        async def h(r: Request) -> Response:
            if r.method == "DELETE":
                with term.lock:
                    term.faces.pop(r.query_params.get("FPID", ""), None)
                return JSONResponse(isapi.status_reply())
            form = await r.form()
            try:
                meta = json.loads(str(form.get("FaceDataRecord") or ""))
            except ValueError:
                raise isapi.IsapiError("badJsonContent") from None
            image = form.get("FaceImage") or form.get("img")
            data = await image.read() if image is not None and hasattr(image, "read") else b""
            number = str(meta.get("FPID", "")) if isinstance(meta, dict) else ""
            with term.lock:
                if number not in term.users:
                    return refused("employeeNoNotExist", "add the person before the face")
                if not data.startswith(b"\xff\xd8\xff"):
                    return refused("noFaceDetected")
                if len(data) > 200 * 1024:
                    return refused("pictureSizeTooLarge")  # firmware takes faces under about 200 KB
                exists = number in term.faces
                if r.method == "POST" and exists:
                    return refused("faceAlreadyExist", "use PUT to replace a face")
                if not exists and len(term.faces) >= term.faces_cap:
                    return refused("faceLibFull")
                term.faces[number] = data
            return JSONResponse(isapi.status_reply())
        return await guard(request, h)

    async def face_search(request: Request) -> Response:
        async def h(r: Request) -> Response:
            cond = await body_json(r)
            position, wanted = int(cond.get("searchResultPosition", 0)), int(cond.get("maxResults", term.page_cap))
            with term.lock:
                fpids = sorted(term.faces)
            page = fpids[position:position + min(wanted, term.page_cap)]
            more = position + len(page) < len(fpids)
            status = "MORE" if more else ("OK" if page else "NO MATCH")
            return JSONResponse({"responseStatusStrg": status, "numOfMatches": len(page), "totalMatches": len(fpids),
                                 **({"MatchList": [{"FPID": f} for f in page]} if page else {})})
        return await guard(request, h)

    async def clock(request: Request) -> Response:
        async def h(r: Request) -> Response:
            if r.method == "PUT":
                wanted = isapi.parse_time_xml(await r.body())
                term.drift_s = (wanted - datetime.now(UTC)).total_seconds()
                return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="2.0" xmlns="'
                                f'{isapi.XMLNS}"><statusCode>1</statusCode><statusString>OK</statusString>'
                                "<subStatusCode>ok</subStatusCode></ResponseStatus>\n", media_type="application/xml")
            return Response(isapi.time_xml(term.now()), media_type="application/xml")
        return await guard(request, h)

    async def http_hosts(request: Request) -> Response:
        async def h(r: Request) -> Response:
            if r.method == "PUT":
                term.listen(*isapi.parse_http_hosts(await r.body()))
                return JSONResponse(isapi.status_reply())
            ip, port, path = term.listener or ("", 80, "/")
            return Response(isapi.http_hosts_xml(ip, port, path), media_type="application/xml")
        return await guard(request, h)

    async def alert_stream(request: Request) -> Response:
        async def h(_r: Request) -> Response:
            from starlette.responses import StreamingResponse  # noqa: PLC0415

            boundary = "boundary"
            q: asyncio.Queue = asyncio.Queue()
            sub = (asyncio.get_running_loop(), q)
            term.streams.append(sub)

            async def parts():  # type: ignore[no-untyped-def]
                try:
                    while True:
                        try:
                            ev = await asyncio.wait_for(q.get(), 2.0)
                        except TimeoutError:
                            yield isapi.stream_part({"eventType": "heartBeat", "eventState": "active",
                                                     "dateTime": isapi.format_time(term.now())}, boundary)
                            continue
                        if ev is None:
                            raise ConnectionResetError("simulated link loss")
                        yield isapi.stream_part(isapi.notification_body(ev, "127.0.0.1"), boundary)
                finally:
                    term.streams.remove(sub)

            return StreamingResponse(parts(), media_type=f"multipart/mixed; boundary={boundary}")
        return await guard(request, h)

    async def not_supported(request: Request) -> Response:
        async def h(_r: Request) -> Response:
            return _status(404, 4, "Invalid Operation", "notSupport")
        return await guard(request, h)

    return Starlette(routes=[
        Route("/ISAPI/System/status", status, methods=["GET"]),
        Route("/ISAPI/System/deviceInfo", device_info, methods=["GET"]),
        Route("/ISAPI/System/time", clock, methods=["GET", "PUT"]),
        Route("/ISAPI/Event/notification/httpHosts", http_hosts, methods=["GET", "PUT"]),
        Route("/ISAPI/Event/notification/alertStream", alert_stream, methods=["GET"]),
        Route("/ISAPI/AccessControl/capabilities", capabilities, methods=["GET"]),
        Route("/ISAPI/AccessControl/AcsEventTotalNum", total, methods=["POST"]),
        Route("/ISAPI/AccessControl/AcsEvent", search, methods=["POST"]),
        Route("/ISAPI/AccessControl/UserInfo/Record", user_record, methods=["POST"]),
        Route("/ISAPI/AccessControl/UserInfo/Modify", user_record, methods=["PUT"]),
        Route("/ISAPI/AccessControl/UserInfo/Delete", user_delete, methods=["PUT"]),
        Route("/ISAPI/AccessControl/UserInfo/Search", user_search, methods=["POST"]),
        Route("/ISAPI/AccessControl/UserInfo/Count", user_count, methods=["GET"]),
        Route("/ISAPI/Intelligent/FDLib/FaceDataRecord", face_record, methods=["POST", "PUT", "DELETE"]),
        Route("/ISAPI/Intelligent/FDLib/FDSearch", face_search, methods=["POST"]),
        Route("/ISAPI/{rest:path}", not_supported, methods=["GET", "POST", "PUT", "DELETE"]),
    ])


class Dropped(Response):
    """Half a page, then the connection cut (a terminal losing power or its link mid-reply)."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body, media_type="application/json")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        raise ConnectionResetError("simulated link loss")


class Served:
    """A terminal's web server on 127.0.0.1 in a thread (real HTTP, real sockets)."""

    def __init__(self, term: HikTerminal, host: str = "127.0.0.1", port: int = 0, certfile: str | None = None,
                 keyfile: str | None = None) -> None:
        """`certfile`/`keyfile`: serve HTTPS (terminals carry a self-signed certificate)."""
        self.term = term
        self.https = certfile is not None
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        self.server = uvicorn.Server(uvicorn.Config(app_for(term), host=host, port=port, log_level="critical",
                                                    lifespan="off", ssl_certfile=certfile, ssl_keyfile=keyfile))
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"hik-{term.serial}")

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Hikvision simulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
