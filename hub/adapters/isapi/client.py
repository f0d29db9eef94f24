"""The ISAPI conversation with one terminal over httpx (HTTP Digest; HTTPS when its port or
URL says so). Replies are read by hub.protocols.isapi; a refusal the terminal words
(statusCode/subStatusCode) becomes an IsapiFailure that says it, and what to do."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx

from hub.i18n import tr
from hub.protocols import isapi

PAGE = 30  # what terminals give per page at most; asking for more gains nothing


class IsapiFailure(RuntimeError):
    """The terminal could not be asked, or refused; the message says which and what to do.
    `sub` is the terminal's subStatusCode when it refused in ISAPI's own words."""

    def __init__(self, message: str, sub: str = "") -> None:
        super().__init__(message)
        self.sub = sub


class IsapiClient:
    def __init__(self, host: str, port: int, username: str, password: str, timeout_s: float = 10.0,
                 https: bool | None = None, verify: bool | str = True, pin_sha256: str | None = None) -> None:
        """`pin_sha256`: the SHA-256 of the terminal's own TLS certificate (terminals carry
        self-signed ones): the link is taken only with exactly that certificate."""
        https = https if https is not None else (port == 443 or bool(pin_sha256))
        self.base = f"{'https' if https else 'http'}://{host}:{port}"
        self.pin = (pin_sha256 or "").lower().replace(":", "") or None
        self.http = httpx.Client(base_url=self.base, auth=httpx.DigestAuth(username, password), timeout=timeout_s,
                                 verify=False if self.pin else verify,
                                 headers={"Accept": "application/json, application/xml"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> IsapiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise IsapiFailure(tr(f"terminal {self.base} tidak menjawab ({exc.__class__.__name__}); periksa daya "
                                  "dan jaringan", f"terminal {self.base} did not answer ({exc.__class__.__name__}); "
                                  "check its power and network")) from exc
        except httpx.HTTPError as exc:
            raise IsapiFailure(tr(f"hubungan ke {self.base} terputus: {exc.__class__.__name__}: {exc}",
                                  f"the link to {self.base} broke: {exc.__class__.__name__}: {exc}")) from exc
        if self.pin:
            self.check_pin(r)
        if r.status_code == 401:
            raise IsapiFailure(tr(f"terminal {self.base} menolak akun masuk hub (401); periksa nama pengguna dan kata "
                                  "sandi (`hub device edit SN --username U --password P`)",
                                  f"terminal {self.base} refused the hub's login (401); check the user name and "
                                  "password (`hub device edit SN --username U --password P`)"))
        if r.status_code >= 400:
            try:
                status = isapi.parse_status(r.content)
                why, sub = str(status), status.sub
            except isapi.IsapiError:
                why, sub = r.text[:200], ""
            raise IsapiFailure(tr(f"terminal menolak {path.split('?')[0]} ({r.status_code}): {why}",
                                  f"the terminal refused {path.split('?')[0]} ({r.status_code}): {why}"), sub)
        return r

    def check_pin(self, r: httpx.Response) -> None:
        stream = r.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        der = ssl_object.getpeercert(True) if ssl_object is not None else None  # (DER; positional)
        seen = hashlib.sha256(der).hexdigest() if der else "-"
        if seen != self.pin:
            raise IsapiFailure(tr(f"sertifikat TLS {self.base} ({seen[:16]}…) bukan yang disematkan "
                                  f"({self.pin[:16]}…); jangan lanjutkan sebelum IT memastikan terminalnya",
                                  f"the TLS certificate of {self.base} ({seen[:16]}…) is not the pinned one "
                                  f"({self.pin[:16]}…); do not go on before IT has checked the terminal"))

    def device_info(self) -> dict[str, str]:
        return isapi.parse_device_info(self._call("GET", "/ISAPI/System/deviceInfo").content)

    def set_listener(self, ip: str, port: int, path: str) -> None:
        """Where the terminal posts its events (HTTP listening)."""
        self._call("PUT", "/ISAPI/Event/notification/httpHosts", content=isapi.http_hosts_xml(ip, port, path).encode(),
                   headers={"Content-Type": "application/xml"})

    def get_time(self) -> datetime:
        return isapi.parse_time_xml(self._call("GET", "/ISAPI/System/time").content)

    def set_time(self, local: datetime) -> None:
        self._call("PUT", "/ISAPI/System/time", content=isapi.time_xml(local).encode(),
                   headers={"Content-Type": "application/xml"})

    def total(self, start: datetime, end: datetime, major: int = 0) -> int:
        r = self._call("POST", "/ISAPI/AccessControl/AcsEventTotalNum?format=json",
                       json=isapi.total_body(start, end, major))
        return isapi.parse_total(r.content)

    def search(self, search_id: str, position: int, start: datetime, end: datetime, major: int = 0,
               page: int = PAGE, newest_first: bool = False) -> isapi.SearchPage:
        r = self._call("POST", "/ISAPI/AccessControl/AcsEvent?format=json",
                       json=isapi.search_body(search_id, position, page, start, end, major, newest_first=newest_first))
        return isapi.parse_search(r.content)

    def newest(self, start: datetime, end: datetime) -> isapi.Event | None:
        """The newest event of the log (one entry, newest first), None when the log is empty."""
        page = self.search(uuid4().hex, 0, start, end, page=1, newest_first=True)
        return page.events[0] if page.events else None

    # --- the roster -------------------------------------------------------------------------

    def add_user(self, employee_no: str, name: str, valid: str = "") -> None:
        self._call("POST", "/ISAPI/AccessControl/UserInfo/Record?format=json",
                   json=isapi.user_record(employee_no, name, valid))

    def modify_user(self, employee_no: str, name: str, valid: str = "") -> None:
        self._call("PUT", "/ISAPI/AccessControl/UserInfo/Modify?format=json",
                   json=isapi.user_record(employee_no, name, valid))

    def delete_users(self, employee_nos: list[str]) -> None:
        self._call("PUT", "/ISAPI/AccessControl/UserInfo/Delete?format=json", json=isapi.user_delete(employee_nos))

    def users(self) -> list[tuple[str, str, str]]:
        """Every person on the terminal (employeeNo, name, valid period), page by page."""
        search_id, position, out = uuid4().hex, 0, []
        while True:
            page = isapi.parse_user_search(self._call(
                "POST", "/ISAPI/AccessControl/UserInfo/Search?format=json",
                json=isapi.user_search(search_id, position, PAGE)).content)
            out.extend(page.users)
            position += len(page.users)
            if not page.more or not page.users:
                return out

    def put_face(self, employee_no: str, jpeg: bytes, replace: bool = False) -> None:
        """The face of a person already on the terminal (multipart: the record, then the JPEG)."""
        self._call("PUT" if replace else "POST", "/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json",
                   files={"FaceDataRecord": (None, json.dumps(isapi.face_record(employee_no)), "application/json"),
                          "FaceImage": ("face.jpg", jpeg, "image/jpeg")})

    def delete_face(self, employee_no: str) -> None:
        self._call("DELETE", "/ISAPI/Intelligent/FDLib/FaceDataRecord",
                   params={"format": "json", **isapi.FACE_LIB, "FPID": employee_no})

    def faces(self) -> list[str]:
        """The employee numbers that have a face on the terminal."""
        position, out = 0, []
        while True:
            page = isapi.parse_face_search(self._call("POST", "/ISAPI/Intelligent/FDLib/FDSearch?format=json",
                                                      json=isapi.face_search(position, PAGE)).content)
            out.extend(page.fpids)
            position += len(page.fpids)
            if not page.more or not page.fpids:
                return out

    def capacity(self) -> dict[str, int]:
        """What the terminal can hold (rec_cap, users_cap, faces_cap), as far as it says."""
        r = self._call("GET", "/ISAPI/AccessControl/capabilities?format=json")
        doc = isapi.load(r.content)

        def cap(section: str, key: str) -> int | None:
            part = doc.get(section)
            value = part.get(key) if isinstance(part, dict) else None
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

        out = {"rec_cap": cap("AcsEvent", "maxRecordNum"), "users_cap": cap("UserInfo", "maxRecordNum"),
               "faces_cap": cap("FDLib", "maxFaceNum")}
        return {k: v for k, v in out.items() if v is not None}

    def user_count(self) -> int:
        r = self._call("GET", "/ISAPI/AccessControl/UserInfo/Count?format=json")
        doc = isapi.load(r.content).get("UserInfoCount")
        return int(doc.get("userNumber", 0)) if isinstance(doc, dict) else 0
