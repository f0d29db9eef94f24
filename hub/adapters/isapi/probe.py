"""Asking a Hikvision terminal who it is (the console's "test connection" for ISAPI): its
serial, model and firmware, the people and events it holds, and its clock offset."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hub.adapters.isapi.client import IsapiClient, IsapiFailure
from hub.adapters.pulls import ProbeResult
from hub.messages import msg
from hub.protocols import isapi

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def probe_address(serial: str, host: str, port: int, username: str, password: str,
                  pin_sha256: str | None = None) -> ProbeResult:
    res = ProbeResult(serial)
    started = time.monotonic()
    try:
        with IsapiClient(host, port, username, password, timeout_s=8, pin_sha256=pin_sha256) as c:
            info = c.device_info()
            res.reported_serial, res.firmware, res.model = (info.get("serialNumber"), info.get("firmwareVersion"),
                                                            info.get("model"))
            res.transport = "http"
            res.clock_offset_s = (c.get_time() - datetime.now(UTC)).total_seconds()
            res.counts = {"users": c.user_count(), "records": c.total(EPOCH, datetime(2100, 1, 1, tzinfo=UTC))}
            res.ok = True
    except (IsapiFailure, isapi.IsapiError) as exc:
        res.error = msg("probe.failed", detail=str(exc))
    res.seconds = time.monotonic() - started
    return res
