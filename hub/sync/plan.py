"""Per terminal: which users to add, update and remove, and which templates to add and remove.

Desired state (assignment + PINs + templates in the store) is compared with the terminal's
last confirmed state (device_roster_users / device_roster_templates, written only from a
read-back). A terminal that was offline simply stays different, so the next plan carries
the change again; a terminal that is already right gets an empty plan and is not contacted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.commands import ISAPI_KINDS, PUSH_KINDS, ZK_KINDS, DevicePlan, TemplateItem, UserItem, valid_period
from hub.i18n import tr
from hub.roster.assignment import ROSTER_KINDS, Org, assign, load_org
from hub.roster.names import terminal_name
from hub.roster.pins import allocate, current_pins, today
from hub.store.models import Device, Employee, Site, Template
from hub.sync import confirm
from hub.sync.confirm import fields_hash
from hub.sync.models import DeviceRosterTemplate, DeviceRosterUser


class _InFlight:
    """For one push terminal: changes already on their way (not planned again) and changes
    it refused lately (planned again once their backoff ends, or at once if they differ)."""

    SHOWN = 20  # held changes described one by one in the plan's notes

    def __init__(self, plan: DevicePlan, pending: dict[str, confirm.Waiting],
                 backoff: dict[str, confirm.Held]) -> None:
        self.plan, self.pending, self.backoff = plan, pending, backoff

    def skip(self, key: str, value: str, remove: bool, label: str) -> bool:
        w = self.pending.get(key)
        if w is not None and w.hash == value and w.remove == remove:
            self.plan.waiting += 1
            return True
        h = self.backoff.get(key)
        if h is not None and h.hash == value and h.remove == remove:
            self.plan.held += 1
            if self.plan.held <= self.SHOWN:
                self.plan.notes.append(tr(
                    f"{label}: {h.reason}; gagal {h.failures}x, dicoba lagi setelah {h.until:%Y-%m-%d %H:%M} UTC",
                    f"{label}: {h.reason}; failed {h.failures}x, retried after {h.until:%Y-%m-%d %H:%M} UTC"))
            return True
        return False

    def unwanted(self, desired_pins: set[str], have_users: set[str], desired_tmpl: dict, have_tmpl: dict
                 ) -> list[tuple[str, tuple[str, str, int] | None, confirm.Waiting]]:
        """Additions on their way that are no longer wanted and not yet confirmed."""
        out: list[tuple[str, tuple[str, str, int] | None, confirm.Waiting]] = []
        for key, w in sorted(self.pending.items()):
            if w.remove:
                continue
            if key.startswith("user:"):
                pin = key.removeprefix("user:")
                if pin not in desired_pins and pin not in have_users:
                    out.append((pin, None, w))
            elif key.startswith("tmpl:"):
                _, pin, kind, finger = key.split(":", 3)
                tkey = (pin, kind, int(finger))
                if pin in desired_pins and tkey not in desired_tmpl and tkey not in have_tmpl:
                    out.append((pin, tkey, w))
        return out

    def summarise(self) -> None:
        if self.plan.waiting:
            self.plan.notes.append(tr(f"{self.plan.waiting} perubahan sudah dikirim, menunggu konfirmasi terminal",
                                      f"{self.plan.waiting} changes sent, waiting for the terminal to confirm"))
        if self.plan.held > self.SHOWN:
            self.plan.notes.append(tr(f"... dan {self.plan.held - self.SHOWN} perubahan lain ditolak terminal",
                                      f"... and {self.plan.held - self.SHOWN} more changes refused by the terminal"))


def user_format(device: Device) -> int:
    caps = device.capabilities or {}
    size = caps.get("user_record_size", caps.get("user_size"))  # the key the ZK adapter records
    if size in (28, 72):
        return int(size)
    return 28 if device.kind == "zk-udp" else 72


def name_bytes(device: Device) -> int:
    if device.kind in ZK_KINDS:
        return 8 if user_format(device) == 28 else 23  # 24-byte field keeps its NUL
    if device.kind in ISAPI_KINDS:
        return 32  # what a MinMoe keeps of a name (hub.protocols.isapi.NAME_LIMIT)
    return 24


def fingerprint_format(device: Device) -> str:
    caps = device.capabilities or {}
    return str(caps.get("fp_format") or f"zk-fp{caps.get('fp_version', 10)}")


def accepts_faces(device: Device) -> bool:
    """Face photos travel as ADMS BIOPHOTO / MQTT face.set / ISAPI FaceDataRecord; the ZK
    binary protocol has none."""
    return device.kind in PUSH_KINDS + ISAPI_KINDS and bool((device.capabilities or {}).get("face", True))


def select_devices(session: Session, site: str | None = None, device: str | None = None) -> list[Device]:
    q = select(Device).where(Device.enabled.is_(True), Device.kind.in_(ROSTER_KINDS)).order_by(Device.serial)
    if device:
        q = q.where(Device.serial == device)
    if site:
        site_id = session.scalar(select(Site.id).where(Site.code == site))
        if site_id is None:
            raise ValueError(tr(f"kantor '{site}' tidak ditemukan", f"office '{site}' not found"))
        q = q.where(Device.site_id == site_id)
    return list(session.scalars(q))


def compute_plans(session: Session, devices: list[Device], day: date | None = None,
                  allocate_pins: bool = True, org: Org | None = None) -> list[DevicePlan]:
    day = day or today()
    if not devices:
        return []
    org = org or load_org(session)
    wanted = assign(session, day, org)
    dev_ids = [d.id for d in devices]
    emp_ids = set().union(*(wanted.get(d, set()) for d in dev_ids))
    names = dict(session.execute(select(Employee.id, Employee.name)).all()) if emp_ids else {}
    periods = ({e.id: valid_period(e.joined_on, e.left_on) for e in session.execute(
        select(Employee.id, Employee.joined_on, Employee.left_on))}
        if emp_ids and any(d.kind in ISAPI_KINDS for d in devices) else {})

    pins_by_group: dict[str, dict[int, str]] = {}
    for group in sorted({d.pin_group for d in devices}):
        members = set().union(*(wanted.get(d.id, set()) for d in devices if d.pin_group == group))
        pins_by_group[group] = current_pins(session, group, day)
        missing = sorted(members - set(pins_by_group[group]))
        if allocate_pins and missing:
            allocate(session, missing, group, day)
            pins_by_group[group] = current_pins(session, group, day)

    templates: dict[int, list[tuple]] = defaultdict(list)
    for row in session.execute(select(Template.employee_id, Template.kind, Template.finger_index,
                                      Template.format, Template.sha256, Template.id)
                               .where(Template.valid_flag > 0)):
        templates[row[0]].append(row[1:])

    confirm.absorb(session, [d.id for d in devices if d.kind in PUSH_KINDS])  # results into the state
    state_users: dict[int, dict[str, Any]] = defaultdict(dict)
    for u in session.execute(select(DeviceRosterUser.device_id, DeviceRosterUser.pin, DeviceRosterUser.uid,
                                    DeviceRosterUser.employee_id, DeviceRosterUser.fields_hash)
                             .where(DeviceRosterUser.device_id.in_(dev_ids))):
        state_users[u.device_id][u.pin] = u
    state_tmpl: dict[int, dict[tuple[str, str, int], str]] = defaultdict(dict)
    for t in session.execute(select(DeviceRosterTemplate.device_id, DeviceRosterTemplate.pin,
                                    DeviceRosterTemplate.kind, DeviceRosterTemplate.finger_index,
                                    DeviceRosterTemplate.sha256)
                             .where(DeviceRosterTemplate.device_id.in_(dev_ids))):
        state_tmpl[t[0]][(t[1], t[2], t[3])] = t[4]
    site_codes = dict(session.execute(select(Site.id, Site.code)).all())
    push_ids = [d.id for d in devices if d.kind in PUSH_KINDS]
    pending, backoff = confirm.waiting(session, push_ids), confirm.held(session, push_ids)

    plans = []
    for dev in devices:
        plan = DevicePlan(dev.id, dev.serial, dev.kind, dev.name, site_codes.get(dev.site_id),
                          user_format(dev))
        pins = pins_by_group[dev.pin_group]
        limit = name_bytes(dev)
        fp_format = fingerprint_format(dev)
        faces = accepts_faces(dev)
        have_users = state_users.get(dev.id, {})
        have_tmpl = state_tmpl.get(dev.id, {})
        desired_pins: set[str] = set()
        desired_tmpl: dict[tuple[str, str, int], TemplateItem] = {}
        skipped_faces = 0
        in_flight = _InFlight(plan, pending.get(dev.id, {}), backoff.get(dev.id, {}))
        for emp in sorted(wanted.get(dev.id, ())):
            pin = pins.get(emp)
            if pin is None:
                plan.notes.append(tr(f"pegawai {emp} belum punya PIN di grup {dev.pin_group}",
                                     f"employee {emp} has no PIN in group {dev.pin_group}"))
                continue
            desired_pins.add(pin)
            tn = terminal_name(names.get(emp, ""), limit)
            valid = periods.get(emp, "") if dev.kind in ISAPI_KINDS else ""  # only ISAPI keeps a period
            item = UserItem(pin, emp, tn.text, fields_hash(pin, tn.text, valid=valid), note=tn.note, valid=valid)
            if tn.note:
                plan.notes.append(f"PIN {pin}: {tn.note}")
            old = have_users.get(pin)
            current = old is not None and old.fields_hash == item.fields_hash
            if current or in_flight.skip(confirm.user_key(pin), item.fields_hash, False, f"PIN {pin}"):
                pass
            elif old is None:
                plan.users_add.append(item)
            else:
                plan.users_update.append(UserItem(pin, emp, item.name, item.fields_hash, old.uid, tn.note, valid))
            for kind, fid, fmt, sha, tid in templates.get(emp, ()):
                if kind == "fingerprint" and fmt == fp_format:
                    desired_tmpl[(pin, kind, fid)] = TemplateItem(pin, kind, fid, sha, tid, emp)
                elif kind == "face" and fmt == "jpeg":
                    if faces:
                        desired_tmpl[(pin, kind, 0)] = TemplateItem(pin, kind, 0, sha, tid, emp)
                    else:
                        skipped_faces += 1
        for pin, old in sorted(have_users.items()):
            if pin not in desired_pins and not in_flight.skip(confirm.user_key(pin), "", True, f"PIN {pin}"):
                plan.users_remove.append(UserItem(pin, old.employee_id, uid=old.uid))
        for key, item in sorted(desired_tmpl.items()):
            if have_tmpl.get(key) != item.sha256 and not in_flight.skip(
                    confirm.template_key(*key), item.sha256, False, f"PIN {key[0]} {key[1]} {key[2]}"):
                plan.templates_add.append(item)
        for key, sha in sorted(have_tmpl.items()):
            if key not in desired_tmpl and key[0] in desired_pins and not in_flight.skip(
                    confirm.template_key(*key), "", True, f"PIN {key[0]} {key[1]} {key[2]}"):
                plan.templates_remove.append(TemplateItem(key[0], key[1], key[2], sha))
        for pin, key, w in in_flight.unwanted(desired_pins, set(have_users), desired_tmpl, have_tmpl):
            # on its way but no longer wanted (a finger withdrawn, a transfer): undo it too
            if key is None:
                plan.users_remove.append(UserItem(pin, None))
            else:
                plan.templates_remove.append(TemplateItem(pin, key[1], key[2], w.hash))
        in_flight.summarise()
        if skipped_faces:
            plan.notes.append(tr(f"{skipped_faces} foto wajah tidak dikirim: protokol ZK biner tidak "
                                 "mendukung wajah (pakai terminal ADMS/MQTT)",
                                 f"{skipped_faces} face photos not sent: the ZK binary protocol has no "
                                 "face support (use an ADMS/MQTT terminal)"))
        if dev.kind not in ZK_KINDS + PUSH_KINDS + ISAPI_KINDS:
            plan.unsupported = tr(f"belum didukung untuk jenis {dev.kind}", f"not yet supported for kind {dev.kind}")
        plans.append(plan)
    return plans
