"""Is this request really from the terminal whose serial it names? (issue 21 item 1)

A serial is printed on the case and listed on pages; it proves nothing. What firmware can
give us, checked in this order before anything is read or stored:

1. **Path key.** Where the terminal's server URL takes a path, IT gives it
   `/d/<key>/iclock/...`; the hub keeps only the key's hash.
2. **Source address.** Pinned to an address or CIDR: learned from the pending
   registration IT approves (or, for a terminal IT registered by hand, from its first
   contact, audited); a request from elsewhere is refused and its address waits for IT
   (`hub push trust SN --approve-source`). `*` (IT's explicit choice) allows any.
3. **PUSH 3.x session.** Firmware that registers (`POST /iclock/registry`) gets a
   RegistryCode once; every later request carries `Cookie: token=MD5(RegistryCode + SN +
   SessionID)` (Security PUSH §7.2) for the session `/iclock/push` gave it. A second
   registration is refused until IT resets it: the code is the terminal's credential.

A refused request changes nothing but the refusal counter (metrics) and, for a new source
address, the note IT reads.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.peer import AddressError, networks_of, parse_networks, within
from hub.protocols import adms
from hub.push.models import EdgeRefusal, PushTrust
from hub.secrets import decrypt, encrypt
from hub.store.audit_office import office_of
from hub.store.models import AuditLog, utcnow

log = logging.getLogger("hub.adms.trust")

ANY = "*"
# reason -> HTTP status; the body starts with "UN" so a handshake is aborted (A.3)
STATUS = {"path_key": 403, "source": 403, "session": 401, "registered": 403, "unregistered": 403}


@dataclass(frozen=True)
class Caller:
    serial: str
    addr: str | None
    path_key: str | None = None  # from /d/<key>/iclock/...
    token: str | None = None  # from Cookie: token=...


class Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message

    @property
    def status(self) -> int:
        return STATUS.get(self.reason, 403)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _code() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def trust_of(conn: Connection, device_id: int) -> Any:
    """The push_trust row (attribute access as on the model), or None."""
    return conn.execute(select(PushTrust.__table__).where(PushTrust.device_id == device_id)).first()


def _ensure(conn: Connection, device_id: int) -> None:
    if conn.execute(select(PushTrust.device_id).where(PushTrust.device_id == device_id)).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(PushTrust).values(device_id=device_id, updated_at=utcnow(),
                                                      pending_attempts=0))
        except IntegrityError:  # a request at the same moment created it
            pass


def _token_ok(trust: Any, caller: Caller) -> bool:
    if not caller.token or trust.registry_code_enc is None:
        return False
    code = decrypt(trust.registry_code_enc).decode()
    return any(sid and hmac.compare_digest(adms.session_token(code, caller.serial, sid), caller.token.lower())
               for sid in (trust.session_id, trust.previous_session_id))


def admit(conn: Connection, device_id: int, caller: Caller, session: bool = True) -> None:
    """Raise Refused unless `caller` is the terminal. `session=False` for the two PUSH 3.x
    set-up requests, which come before there is a session. Runs in the caller's
    transaction; the only write on success is learning a first source address."""
    trust = trust_of(conn, device_id)
    if trust is not None and trust.path_key_hash and not (
            caller.path_key and hmac.compare_digest(key_hash(caller.path_key), trust.path_key_hash)):
        raise Refused("path_key", "kunci jalur salah / wrong or missing path key")
    sources = trust.sources if trust is not None else None
    if sources is None:
        sources = _learn(conn, device_id, caller)
    if sources is not None and sources.strip() != ANY and not within(caller.addr, _networks(sources)):
        _note_source(conn, device_id, caller.addr)
        raise Refused("source", f"alamat {caller.addr} bukan alamat terminal ini / not this "
                                f"terminal's address; IT: hub push trust {caller.serial} --approve-source")
    if session and trust is not None and trust.registry_code_enc is not None and not _token_ok(trust, caller):
        raise Refused("session", "sesi PUSH tidak sah / no valid PUSH session token")


def _networks(sources: str) -> tuple:  # type: ignore[type-arg]
    try:
        return networks_of(sources)
    except AddressError:
        log.error("push_trust.sources is not a list of addresses: %r", sources)
        return []


def _learn(conn: Connection, device_id: int, caller: Caller) -> str | None:
    """Pin the first caller's address; the pin in force afterwards (another request may
    have been first)."""
    if not caller.addr:
        return None
    _ensure(conn, device_id)
    now = utcnow()
    won = conn.execute(update(PushTrust).where(PushTrust.device_id == device_id, PushTrust.sources.is_(None))
                       .values(sources=caller.addr, learned_at=now, updated_at=now)).rowcount
    if not won:
        return conn.scalar(select(PushTrust.sources).where(PushTrust.device_id == device_id))
    conn.execute(insert(AuditLog).values(at=now, actor="hub", action="adms.source.learned", entity="device",
                                         entity_id=str(device_id), site_id=office_of(conn, "device", device_id, {}),
                                         details={"serial": caller.serial, "source": caller.addr}))
    log.warning("ADMS %s: source address %s learned at first contact", caller.serial, caller.addr)
    return caller.addr


def _note_source(conn: Connection, device_id: int, addr: str | None) -> None:
    # The router commits this note although it refuses the request: IT must see it.
    conn.execute(update(PushTrust).where(PushTrust.device_id == device_id).values(
        pending_source=(addr or "?")[:64], pending_since=utcnow(),
        pending_attempts=PushTrust.pending_attempts + 1))


def count_refusal(engine: Engine, channel: str, serial: str, reason: str, addr: str | None) -> None:
    """+1 on the refusal counter (serial "" for serials the hub does not know)."""
    now = utcnow()
    try:
        with engine.begin() as conn:
            done = conn.execute(update(EdgeRefusal).where(
                EdgeRefusal.channel == channel, EdgeRefusal.serial == serial[:64], EdgeRefusal.reason == reason)
                .values(count=EdgeRefusal.count + 1, last_at=now, last_addr=(addr or "")[:64])).rowcount
            if not done:
                conn.execute(insert(EdgeRefusal).values(channel=channel, serial=serial[:64], reason=reason,
                                                        count=1, first_at=now, last_at=now,
                                                        last_addr=(addr or "")[:64]))
    except Exception:  # noqa: BLE001 - counting must never turn a refusal into a 500
        log.exception("counting a refused %s request failed", channel)


# --- PUSH 3.x registration ---------------------------------------------------------------


def register(conn: Connection, device_id: int, caller: Caller) -> str:
    """The RegistryCode for a first registration (admit(session=False) passed). A terminal
    that already has one gets it again only inside its valid session; otherwise refused."""
    trust = trust_of(conn, device_id)
    if trust is not None and trust.registry_code_enc is not None:
        if _token_ok(trust, caller):
            return decrypt(trust.registry_code_enc).decode()
        raise Refused("registered", "terminal sudah terdaftar; IT: hub push trust "
                                    f"{caller.serial} --reset-registry / already registered")
    _ensure(conn, device_id)
    code, now = _code(), utcnow()
    conn.execute(update(PushTrust).where(PushTrust.device_id == device_id).values(
        registry_code_enc=encrypt(code.encode()), registered_at=now, session_id=None,
        previous_session_id=None, updated_at=now))
    conn.execute(insert(AuditLog).values(at=now, actor="hub", action="adms.registry", entity="device",
                                         entity_id=str(device_id), site_id=office_of(conn, "device", device_id, {}),
                                         details={"serial": caller.serial, "source": caller.addr}))
    return code


def open_session(conn: Connection, device_id: int, caller: Caller) -> str:
    """A SessionID for `/iclock/push`: the current one inside a valid session, else a new
    one (the previous stays valid, so a stray request cannot cut a terminal off)."""
    trust = trust_of(conn, device_id)
    if trust is None or trust.registry_code_enc is None:
        raise Refused("unregistered", "daftar dulu lewat /iclock/registry / register first")
    if trust.session_id and _token_ok(trust, caller):
        return trust.session_id
    sid = secrets.token_hex(8)
    conn.execute(update(PushTrust).where(PushTrust.device_id == device_id).values(
        previous_session_id=trust.session_id, session_id=sid, session_at=utcnow(), updated_at=utcnow()))
    return sid


def describe(trust: PushTrust | None) -> dict[str, str | int | datetime | None]:
    """What IT sees (never a key or code)."""
    if trust is None:
        return {"sources": None, "path_key": "tidak", "registered": "tidak"}
    return {"sources": trust.sources, "learned_at": trust.learned_at,
            "pending_source": trust.pending_source, "pending_since": trust.pending_since,
            "pending_attempts": trust.pending_attempts,
            "path_key": "ya" if trust.path_key_hash else "tidak",
            "registered": "ya" if trust.registry_code_enc else "tidak",
            "registered_at": trust.registered_at, "session_at": trust.session_at}


# --- IT's decisions ------------------------------------------------------------------------


def _trust_row(session: Session, device_id: int) -> PushTrust:
    row = session.get(PushTrust, device_id)
    if row is None:
        row = PushTrust(device_id=device_id, pending_attempts=0, updated_at=utcnow())
        session.add(row)
    return row


def normalise_sources(text: str) -> str:
    """IT's `--source` value checked: `*`, or addresses/CIDRs (AddressError names a bad one)."""
    text = text.strip()
    if text == ANY:
        return ANY
    nets = parse_networks(text)
    if not nets:
        raise AddressError("tidak ada alamat / no address given")
    return ",".join(str(n) if n.num_addresses > 1 else str(n.network_address) for n in nets)


def pin_sources(session: Session, device_id: int, sources: str, actor: str, why: str) -> str:
    row = _trust_row(session, device_id)
    old = row.sources
    row.sources = normalise_sources(sources)
    row.learned_at = row.updated_at = utcnow()
    if row.pending_source and within(row.pending_source, _networks(row.sources)) or row.sources == ANY:
        row.pending_source, row.pending_since, row.pending_attempts = None, None, 0
    session.add(AuditLog(actor=actor, action="adms.source.set", entity="device", entity_id=str(device_id),
                         details={"from": old, "to": row.sources, "why": why}))
    return row.sources


def pin_at_approval(session: Session, device_id: int, serial: str, actor: str,
                    source: str | None = None) -> str | None:
    """After `service.approve`: pin the terminal to `source`, or to the address its pending
    registration last came from. None when neither is known (learned at first contact)."""
    from hub.push.models import PushRegistration

    info = session.scalar(select(PushRegistration.info).where(PushRegistration.serial == serial)) or {}
    chosen = source or info.get("last_addr") or info.get("addr")
    return pin_sources(session, device_id, chosen, actor, "approval") if chosen else None


def approve_source(session: Session, device_id: int, actor: str) -> str:
    """IT accepts the address the terminal was refused from: it is added to its sources."""
    row = _trust_row(session, device_id)
    if not row.pending_source:
        raise AddressError("tidak ada alamat baru yang menunggu / no new address is waiting")
    sources = row.sources if row.sources and row.sources != ANY else ""
    return pin_sources(session, device_id, ",".join(p for p in (sources, row.pending_source) if p), actor,
                       "approve-source")


def set_path_key(session: Session, device_id: int, actor: str, on: bool) -> str | None:
    """A new path key (shown once), or None when turned off."""
    row = _trust_row(session, device_id)
    key = secrets.token_urlsafe(18) if on else None
    row.path_key_hash = key_hash(key) if key else None
    row.updated_at = utcnow()
    session.add(AuditLog(actor=actor, action="adms.path_key", entity="device", entity_id=str(device_id),
                         details={"on": on}))
    return key


def reset_registry(session: Session, device_id: int, actor: str) -> None:
    """Forget the PUSH 3.x registration: the terminal's next /iclock/registry gets a new code."""
    row = _trust_row(session, device_id)
    row.registry_code_enc = row.session_id = row.previous_session_id = None
    row.registered_at = row.session_at = None
    row.updated_at = utcnow()
    session.add(AuditLog(actor=actor, action="adms.registry.reset", entity="device", entity_id=str(device_id),
                         details={}))
