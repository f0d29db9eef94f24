"""How full the disks are that the hub writes to (its var_dir and its backups), each disk
once: what `hub doctor` and the disk alert judge."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hub.config import Settings


@dataclass(frozen=True)
class DiskUse:
    label: str  # var | backup
    path: Path
    pct: float  # used
    free_gib: float


def usage(settings: Settings) -> list[DiskUse]:
    out, seen = [], set()
    for label, path in (("var", settings.var_path), ("backup", settings.backup.path(settings.var_path))):
        probe = path
        while not probe.exists() and probe != probe.parent:  # (a folder not made yet: its disk)
            probe = probe.parent
        if (dev := probe.stat().st_dev) in seen:
            continue
        seen.add(dev)
        u = shutil.disk_usage(probe)
        out.append(DiskUse(label, path, 100.0 * u.used / u.total if u.total else 0.0, u.free / 2**30))
    return out
