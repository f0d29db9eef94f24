"""The hub's command vocabulary: what the roster sync and IT ask of a terminal, in no wire format.

The sync planner (hub.sync.plan) says, per terminal, which users and templates to add, update
and remove (a DevicePlan of UserItems and TemplateItems). A push terminal gets them as
Commands (an op and its canonical data) queued by hub.push; each family translates them to
its own wire: ZK upload buffers (hub.adapters.zk.roster), ADMS `C:` lines
(hub.protocols.adms.command_for), MQTT cmd documents (hub.protocols.mqtt.format_cmd).
Nothing here knows a wire format.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.i18n import tr

OPS = ("user.upsert", "user.delete", "face.set", "face.delete", "template.set",
       "template.delete", "card.set", "device.reboot", "device.time.set",
       "device.config.set", "door.open", "events.resend", "users.list")

# What each push channel can carry. ADMS has verbs for these only; the rest are refused before
# they are queued (tests/test_commands.py holds this table against the ADMS codec).
CARRIED: dict[str, frozenset[str]] = {
    "mqtt": frozenset(OPS),
    "adms": frozenset({"user.upsert", "user.delete", "template.set", "face.set", "users.list",
                       "device.time.set", "events.resend", "device.reboot"}),
}
ZK_KINDS = ("zk-tcp", "zk-udp", "zk-auto", "zk-serial")
ISAPI_KINDS = ("hik-isapi",)  # Hikvision: the hub writes users and faces over ISAPI and reads them back
PUSH_KINDS = tuple(CARRIED)  # a push terminal's kind names its channel


class CommandError(ValueError):
    """A command no channel of this terminal can carry; nothing was queued."""


@dataclass(frozen=True)
class Command:
    op: str
    data: dict[str, Any]


def channel_of(kind: str, serial: str = "") -> str:
    if kind not in CARRIED:
        raise CommandError(tr(f"terminal {serial} ({kind}) bukan terminal push",
                              f"terminal {serial} ({kind}) is not a push terminal"))
    return kind


def check(channel: str, op: str) -> None:
    """Refuse an op the vocabulary lacks or the channel cannot carry."""
    if op not in OPS:
        raise CommandError(tr(f"operasi '{op}' tidak dikenal; pilih: {', '.join(OPS)}",
                              f"unknown op '{op}'; choose one of {', '.join(OPS)}"))
    if op not in CARRIED.get(channel, frozenset()):
        raise CommandError(tr(f"operasi tidak didukung lewat {channel.upper()}: {op}",
                              f"op not supported over {channel.upper()}: {op}"))


# --- the commands the roster sync sends --------------------------------------------------------
def user_upsert(pin: str, name: str, role: str = "user") -> Command:
    return Command("user.upsert", {"user": {"id": pin, "name": name, "role": role}})


def user_delete(pin: str) -> Command:
    return Command("user.delete", {"user_id": pin})


def template_set(pin: str, finger: int, blob: bytes, alg_ver: int = 10) -> Command:
    return Command("template.set", {"user_id": pin, "no": finger, "type": 1, "format": "zk",
                                    "alg_ver": alg_ver, "data_b64": base64.b64encode(blob).decode()})


def face_set(pin: str, jpeg: bytes, sha256: str) -> Command:
    return Command("face.set", {"user_id": pin, "type": "visible",
                                "photo": {"b64": base64.b64encode(jpeg).decode(), "sha256": sha256,
                                          "size": len(jpeg), "content_type": "image/jpeg"}})


def template_delete(pin: str, finger: int) -> Command:
    return Command("template.delete", {"user_id": pin, "no": finger})


def face_delete(pin: str) -> Command:
    return Command("face.delete", {"user_id": pin})


def users_list() -> Command:
    """The terminal lists the users it holds: a read-back."""
    return Command("users.list", {})


# --- what the planner wants changed on one terminal ----------------------------------------------
@dataclass(frozen=True)
class UserItem:
    pin: str
    employee_id: int | None
    name: str = ""
    fields_hash: str = ""
    uid: int | None = None  # known slot on the terminal (updates, removals)
    note: str | None = None
    valid: str = ""  # "from..to" (ISO days, either side may be open) where the terminal keeps a period


@dataclass(frozen=True)
class TemplateItem:
    pin: str
    kind: str  # fingerprint | face
    finger_index: int
    sha256: str
    template_id: int | None = None
    employee_id: int | None = None


@dataclass
class DevicePlan:
    device_id: int
    serial: str
    kind: str
    name: str
    site: str | None
    user_size: int
    users_add: list[UserItem] = field(default_factory=list)
    users_update: list[UserItem] = field(default_factory=list)
    users_remove: list[UserItem] = field(default_factory=list)
    templates_add: list[TemplateItem] = field(default_factory=list)
    templates_remove: list[TemplateItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unsupported: str | None = None
    waiting: int = 0  # changes sent to a push terminal and not confirmed yet
    held: int = 0  # changes the terminal refused, waiting for their retry time

    @property
    def empty(self) -> bool:
        return not (self.users_add or self.users_update or self.users_remove
                    or self.templates_add or self.templates_remove)

    def counts(self) -> dict[str, int]:
        return {"users_add": len(self.users_add), "users_update": len(self.users_update),
                "users_remove": len(self.users_remove), "templates_add": len(self.templates_add),
                "templates_remove": len(self.templates_remove)}


@dataclass
class Issue:
    """One thing that went wrong or differs, for one PIN (or the terminal)."""
    action: str
    pin: str | None
    message: str
    status: str = "error"  # error | warning | mismatch
    employee_id: int | None = None
    finger_index: int | None = None


VALID_FIRST, VALID_LAST = date(2000, 1, 1), date(2037, 12, 31)  # the range terminals' firmware accepts (MinMoe)


def valid_period(begin: date | None, end: date | None) -> str:
    """A person's period on the terminal as "from..to" (ISO days): from joining to leaving,
    open sides at the firmware's limits, so the terminal itself refuses a leaver the hub
    could not reach in time."""
    first = min(max(begin or VALID_FIRST, VALID_FIRST), VALID_LAST)
    last = max(min(end or VALID_LAST, VALID_LAST), first)
    return f"{first.isoformat()}..{last.isoformat()}"
