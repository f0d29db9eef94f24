"""One terminal's pull, whichever family it is (ZK or Hikvision ISAPI): the target of a
terminal and its pull, for the callers that take one terminal at a time (pull now, a
terminal request, a cluster task)."""

from __future__ import annotations

from sqlalchemy import Engine

from hub.adapters.isapi.pull import IsapiTarget, pull_one
from hub.adapters.isapi.pull import load_targets as isapi_targets
from hub.adapters.pulls import PullResult
from hub.adapters.zk.coordinator import Puller, load_targets
from hub.adapters.zk.targets import Target
from hub.config import Settings


def target_of(engine: Engine, serial: str, include_disabled: bool = False) -> Target | IsapiTarget | None:
    """The pull target of a terminal by serial (or name); None when it is not a pulled one.
    `include_disabled` reaches a switched-off ZK terminal (asked for by name, e.g. pull now)."""
    zk = load_targets(engine, device=serial, include_disabled=include_disabled)
    if zk:
        return zk[0]
    hik = isapi_targets(engine, serial)
    return hik[0] if hik else None


def pull_target(engine: Engine, settings: Settings, target: Target | IsapiTarget, full: bool = False) -> PullResult:
    if isinstance(target, IsapiTarget):
        return pull_one(engine, target, full, tolerance_s=settings.pull.clock_tolerance_s)
    return Puller(engine, settings.pull).pull(target, full)
