"""Register, edit and remove terminals, with validation that says what to fix."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.secrets import decrypt, encrypt
from hub.store.models import Device, IngestRun, RawPunch, Site
from hub.times import is_zone

KINDS = ("zk-tcp", "zk-udp", "zk-auto", "zk-serial", "hik-isapi", "mqtt", "adms", "file", "mobile")
NETWORK_KINDS = ("zk-tcp", "zk-udp", "zk-auto", "hik-isapi")
LOGIN_KINDS = ("hik-isapi",)  # terminals the hub signs in to (HTTP Digest)
DEFAULT_PORTS = {"zk-tcp": 4370, "zk-udp": 4370, "zk-auto": 4370, "hik-isapi": 80}
INDONESIAN_ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class RegistryError(ValueError):
    """A device definition that cannot be accepted; the message says what to change."""


def validate_zone(tz: str) -> str:
    if not is_zone(tz):
        raise RegistryError(tr(
            f"zona waktu '{tz}' tidak dikenal; gunakan nama IANA, mis. "
            f"{', '.join(INDONESIAN_ZONES)}",
            f"unknown time zone '{tz}'; use an IANA name such as "
            f"{', '.join(INDONESIAN_ZONES)}"))
    return tz


def validate_host(host: str) -> str:
    host = host.strip()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    # a name whose last label is all digits is an IP address that failed to parse (999.1.1.1,
    # 10.0.0.300, 1.2.3): no top-level domain is numeric (RFC 1123 §2.1)
    if not _HOSTNAME.match(host) or host.rstrip(".").rsplit(".", 1)[-1].isdigit():
        raise RegistryError(tr(f"alamat '{host}' bukan IP atau nama host yang sah",
                               f"'{host}' is not a valid IP address or host name"))
    return host


def validate_port(port: int) -> int:
    if not 1 <= int(port) <= 65535:
        raise RegistryError(tr(f"port {port} di luar 1-65535", f"port {port} is not in 1-65535"))
    return int(port)


def validate_comm_key(key: int | str | None) -> int | None:
    if key is None or key == "":
        return None
    try:
        value = int(key)
    except (TypeError, ValueError) as exc:
        raise RegistryError(tr("comm key harus berupa angka", "the comm key must be a number")) from exc
    if not 0 <= value <= 999999:
        raise RegistryError(tr("comm key harus 0-999999", "the comm key must be 0-999999"))
    return value


@dataclass
class DeviceSpec:
    serial: str
    kind: str
    name: str = ""
    site: str | None = None
    host: str | None = None
    port: int | None = None
    serial_line: str | None = None
    baud: int | None = None
    comm_key: int | str | None = None
    tz: str = "Asia/Jakarta"
    enabled: bool = True
    pin_group: str = "default"
    username: str | None = None  # ISAPI terminals: the account the hub signs in with
    password: str | None = None
    tls_pin: str | None = None  # ISAPI over HTTPS: SHA-256 of the terminal's certificate ("" removes)


def _site_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise RegistryError(tr(f"kantor '{code}' belum terdaftar (lihat `hub site list`)",
                               f"office '{code}' is not registered (see `hub site list`)"))
    return site.id


def check_spec(spec: DeviceSpec) -> None:
    """Validate a definition in place (host and port normalised); RegistryError says what to fix."""
    if not _SERIAL.match(spec.serial or ""):
        raise RegistryError(tr(f"nomor seri '{spec.serial}' tidak sah (huruf/angka, maks 64)",
                               f"serial number '{spec.serial}' is not valid"))
    if spec.kind not in KINDS:
        raise RegistryError(tr(f"jenis '{spec.kind}' tidak dikenal; pilih: {', '.join(KINDS)}",
                               f"unknown kind '{spec.kind}'; choose one of {', '.join(KINDS)}"))
    validate_zone(spec.tz)
    if spec.kind in NETWORK_KINDS:
        if not spec.host:
            raise RegistryError(tr(f"terminal {spec.kind} butuh --host",
                                   f"a {spec.kind} terminal needs --host"))
        spec.host = validate_host(spec.host)
        spec.port = validate_port(spec.port or DEFAULT_PORTS[spec.kind])
    elif spec.host:
        spec.host = validate_host(spec.host)
    if spec.kind == "zk-serial":
        if not spec.serial_line:
            raise RegistryError(tr("terminal zk-serial butuh --line (mis. /dev/ttyUSB0)",
                                   "a zk-serial terminal needs --line (e.g. /dev/ttyUSB0)"))
        spec.baud = spec.baud or 115200
    if spec.port is not None:
        validate_port(spec.port)
    spec.comm_key = validate_comm_key(spec.comm_key)
    if spec.kind in LOGIN_KINDS and spec.username is not None:
        validate_login(spec.username, spec.password)


def add_device(session: Session, spec: DeviceSpec) -> Device:
    check_spec(spec)
    if session.scalar(select(Device.id).where(Device.serial == spec.serial)) is not None:
        raise RegistryError(tr(f"terminal {spec.serial} sudah terdaftar (ubah dengan `hub device edit`)",
                               f"terminal {spec.serial} is already registered (use `hub device edit`)"))
    device = Device(serial=spec.serial, name=spec.name or spec.serial, kind=spec.kind,
                    site_id=_site_id(session, spec.site), host=spec.host, port=spec.port,
                    serial_line=spec.serial_line, baud=spec.baud, tz=spec.tz,
                    enabled=spec.enabled, pin_group=spec.pin_group, capabilities={})
    set_comm_key(device, spec.comm_key)
    if spec.kind in LOGIN_KINDS:
        set_login(device, spec.username, spec.password)
        set_tls_pin(device, spec.tls_pin)
    session.add(device)
    session.flush()
    return device


def set_comm_key(device: Device, key: int | str | None) -> None:
    value = validate_comm_key(key)
    device.comm_key_enc = None if value is None else encrypt(str(value).encode())


def validate_login(username: str | None, password: str | None) -> None:
    if not username or len(username) > 64 or any(c in username for c in ":\n\r\x00"):
        raise RegistryError(tr("nama pengguna terminal wajib (maks 64, tanpa ':' atau baris baru)",
                               "the terminal's user name is required (at most 64, no ':' or line break)"))
    if not password or len(password) > 128 or any(c in password for c in "\n\r\x00"):
        raise RegistryError(tr("kata sandi terminal wajib (maks 128 karakter)",
                               "the terminal's password is required (at most 128 characters)"))


def set_login(device: Device, username: str | None, password: str | None) -> None:
    """Keep the account the hub signs in to the terminal with, encrypted (None: keep as is)."""
    if username is None:
        return
    validate_login(username, password)
    device.login_enc = encrypt(f"{username}\n{password}".encode())


def set_tls_pin(device: Device, pin: str | None) -> None:
    """Pin the terminal's TLS certificate by its SHA-256 (64 hex digits, colons allowed); ""
    removes the pin, None keeps it."""
    if pin is None:
        return
    value = pin.strip().lower().replace(":", "")
    if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
        raise RegistryError(tr("sidik sertifikat harus SHA-256: 64 angka heksadesimal",
                               "the certificate fingerprint must be a SHA-256: 64 hex digits"))
    caps = {k: v for k, v in (device.capabilities or {}).items() if k != "tls_sha256"}
    device.capabilities = {**caps, "tls_sha256": value} if value else caps


def login_of(device: Device) -> tuple[str, str]:
    """(user name, password) to sign in with; RegistryError when none is set."""
    if not device.login_enc:
        raise RegistryError(tr(f"terminal {device.serial} belum punya akun masuk; atur dengan `hub device edit "
                               f"{device.serial} --username U --password P`",
                               f"terminal {device.serial} has no login; set one with `hub device edit "
                               f"{device.serial} --username U --password P`"))
    user, _, password = decrypt(device.login_enc).decode().partition("\n")
    return user, password


def comm_key(device: Device) -> int:
    """The comm key to authenticate with (0 when none is set)."""
    if not device.comm_key_enc:
        return 0
    return int(decrypt(device.comm_key_enc).decode())


def find_device(session: Session, ref: str) -> Device:
    device = session.scalar(select(Device).where(Device.serial == ref))
    if device is None and ref.isdigit():
        device = session.get(Device, int(ref))
    if device is None:
        device = session.scalar(select(Device).where(Device.name == ref))
    if device is None:
        raise RegistryError(tr(f"terminal '{ref}' tidak ditemukan (lihat `hub device list`)",
                               f"terminal '{ref}' not found (see `hub device list`)"))
    return device


EDITABLE = ("name", "site", "host", "port", "serial_line", "baud", "comm_key", "tz",
            "enabled", "pin_group", "kind", "username", "password", "tls_pin")


def edit_device(session: Session, device: Device, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply changes after validating the result as a whole; returns what changed."""
    spec = DeviceSpec(serial=device.serial, kind=device.kind, name=device.name,
                      site=device.site.code if device.site else None, host=device.host,
                      port=device.port, serial_line=device.serial_line, baud=device.baud,
                      comm_key=None, tz=device.tz, enabled=device.enabled,
                      pin_group=device.pin_group)
    for key, value in changes.items():
        if key not in EDITABLE:
            raise RegistryError(tr(f"kolom '{key}' tidak dapat diubah", f"'{key}' cannot be edited"))
        setattr(spec, key, value)
    check_spec(spec)
    changed: dict[str, Any] = {}
    if "username" in changes or "password" in changes:
        if spec.kind not in LOGIN_KINDS:
            raise RegistryError(tr(f"terminal {spec.kind} tidak memakai akun masuk",
                                   f"a {spec.kind} terminal does not sign in"))
        if spec.username is None and device.login_enc:
            spec.username = login_of(device)[0]  # a new password for the same account
        set_login(device, spec.username, spec.password)
        changed["login"] = "********"
    if "tls_pin" in changes:
        set_tls_pin(device, changes["tls_pin"])
        changed["tls_pin"] = changes["tls_pin"] or "-"
    for key in changes:
        if key in ("username", "password", "tls_pin"):
            continue
        if key == "comm_key":
            set_comm_key(device, spec.comm_key)
            changed[key] = "********"
        elif key == "site":
            device.site_id = _site_id(session, spec.site)
            changed[key] = spec.site
        else:
            new = getattr(spec, key)
            if getattr(device, key) != new:
                setattr(device, key, new)
                changed[key] = new
    return changed


def remove_device(session: Session, device: Device, force: bool = False) -> None:
    """Remove a terminal. One with stored punches is disabled instead, unless forced off."""
    punches = session.scalar(select(func.count()).select_from(RawPunch)
                             .where(RawPunch.device_id == device.id)) or 0
    if punches:
        if not force:
            raise RegistryError(tr(
                f"terminal {device.serial} punya {punches} punch tersimpan; punch tidak "
                f"pernah dihapus. Gunakan --disable untuk menonaktifkan terminal.",
                f"terminal {device.serial} has {punches} stored punches, which are never "
                f"deleted. Use --disable to switch the terminal off instead."))
        device.enabled = False
        device.status = "retired"
        return
    session.query(IngestRun).filter(IngestRun.device_id == device.id).delete()
    session.delete(device)
