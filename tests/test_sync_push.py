"""Sync to ADMS and MQTT terminals: the changes are queued as commands in hub/push's table."""

from __future__ import annotations

import base64
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.push.models import DeviceCommand
from hub.secrets import encrypt, unseal_tree
from hub.store.models import Template
from hub.sync.apply import apply_plans
from hub.sync.plan import compute_plans, select_devices
from tests.roster_fixtures import device, employee, fake_fp, fingerprint, site

D = date(2026, 3, 2)


def sync(engine, **kw):
    with Session(engine) as s:
        plans = compute_plans(s, select_devices(s), D)
        s.commit()
    return {r.serial: r for r in apply_plans(engine, plans, "test", **kw)}


def confirm_all(engine, code: int = 0) -> int:
    """Every queued command delivered and answered by its terminal (`code` < 0: refused)."""
    from hub.push import service
    from hub.store.models import Device

    n = 0
    with engine.begin() as conn:
        for dev_id in conn.scalars(select(Device.id)):
            for cmd in service.take_due(conn, dev_id):
                n += service.record_result(conn, dev_id, cmd.id, code >= 0, {"return": code})
    return n


def commands(s):
    rows = s.execute(select(DeviceCommand.op, DeviceCommand.payload, DeviceCommand.channel)
                     .order_by(DeviceCommand.id)).all()
    return rows


def test_push_terminals_get_queued_commands_once(engine):
    with Session(engine) as s:
        office = site(s, "DPMPTSP")
        device(s, "ADMS-A", office, kind="adms")
        device(s, "MQTT-A", office, kind="mqtt")
        e = employee(s, office, name="Rina Marlina")
        fp = fake_fp("rina-0")
        fingerprint(s, e, 0, fp)
        jpeg = b"\xff\xd8\xff\xe0fake-jpeg-bytes"
        s.add(Template(employee_id=e.id, kind="face", finger_index=0, format="jpeg", blob_enc=encrypt(jpeg),
                       sha256="cd" * 32, size=len(jpeg)))
        s.commit()
        res = sync(engine)
        assert {r.status for r in res.values()} == {"ok"}, {k: (r.error, r.issues) for k, r in res.items()}
        rows = commands(s)
        ops = sorted((ch, op) for op, _, ch in rows)
        assert ops == sorted([(ch, op) for ch in ("adms", "mqtt") for op in ("user.upsert", "template.set",
                                                                              "face.set")] + [("adms", "users.list")])
        upsert = next(p for op, p, ch in rows if op == "user.upsert" and ch == "adms")
        assert upsert["user"]["name"] == "Rina Marlina" and upsert["user"]["id"] != e.id_number
        tset = next(p for op, p, ch in rows if op == "template.set")
        fset = next(p for op, p, ch in rows if op == "face.set")
        # the queued template and photo rest encrypted; delivery opens them
        assert tset["data_b64"].startswith("enc:") and fset["photo"]["b64"].startswith("enc:")
        tset, fset = unseal_tree(tset), unseal_tree(fset)
        assert base64.b64decode(tset["data_b64"]) == fp and tset["no"] == 0
        assert base64.b64decode(fset["photo"]["b64"]) == jpeg
        # nothing changed: nothing queued
        again = sync(engine)
        assert {r.status for r in again.values()} == {"unchanged"}
        assert len(commands(s)) == 7  # (the ADMS terminal's read-back included)


def test_refused_command_is_a_per_item_error_and_the_rest_goes_on(engine):
    with Session(engine) as s:
        office = site(s, "DPMPTSP")
        device(s, "ADMS-B", office, kind="adms")
        a, b = employee(s, office, name="Ali"), employee(s, office, name="Beni")
        t = fingerprint(s, a, 3, fake_fp("ali-3"))
        s.commit()
        assert sync(engine)["ADMS-B"].status == "ok"
        assert confirm_all(engine) == 4  # two users, a finger and the read-back (no list: nothing learnt)
        s.delete(s.get(Template, t.id))  # the finger is withdrawn; ADMS has no template delete command here
        b.name = "Beni Saputra"
        s.commit()
        res = sync(engine)["ADMS-B"]
        assert res.status == "partial"
        assert any(i.action == "template_remove" and i.status == "error" for i in res.issues)
        last, readback = commands(s)[-2:]
        assert last[0] == "user.upsert" and last[1]["user"]["name"] == "Beni Saputra"
        assert readback[0] == "users.list"
