"""ADMS ATTLOG lines -> canonical punches: the ADMS family's one normalise step."""

from __future__ import annotations

from hub.protocols import adms
from hub.punch import Punch, Source
from hub.push import service


def attlog_punch(device: service.KnownDevice, r: adms.AttRecord, stamp: str | None) -> Punch:
    return Punch(device_id=device.id, source=Source.ADMS, pin=r.pin, local_time=r.local_time, tz=device.tz,
                 state=r.state, verify=r.verify_label, work_code=r.work_code,
                 raw={"line": "\t".join(r.raw), "status": r.status, "verify": r.verify, "stamp": stamp})
