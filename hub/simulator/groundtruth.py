"""The ground truth of a simulated fleet: every punch that happened, and who is who.

Two files in one directory:
- `roster.json`: the population parameters, offices, terminals (serial, profile, comm key,
  zone, clock offset, host/port once served), employees with their PINs, the calendar and
  the punches that were missed (forgotten, so no terminal holds them).
- `punches.csv.gz`: one row per punch as its terminal recorded it: serial, pin, the
  device-local time as recorded, the true instant (UTC), state, verify, anomaly tags.
  CSV rather than JSON Lines because half a million rows write and read several times faster.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hub.simulator.population import TAGS, Population, TerminalSpec

VERSION = 1
ROSTER = "roster.json"
PUNCHES = "punches.csv.gz"
COLUMNS = ("serial", "pin", "local_time", "utc_time", "state", "verify", "tags")


class GroundTruthError(ValueError):
    pass


class TruePunch(NamedTuple):
    serial: str
    pin: str
    local_time: datetime  # as the terminal recorded it
    utc_time: datetime  # when it really happened
    state: int
    verify: int
    tags: tuple[str, ...]


@dataclass
class GroundTruth:
    roster: dict[str, Any]
    punches: list[TruePunch]

    def by_serial(self) -> dict[str, list[TruePunch]]:
        out: dict[str, list[TruePunch]] = {t["serial"]: [] for t in self.roster["terminals"]}
        for p in self.punches:
            out.setdefault(p.serial, []).append(p)
        return out

    def multiset(self, serial: str) -> Counter:
        """(pin, local_time, state, verify) counts of one terminal: what a client must read."""
        return Counter((p.pin, p.local_time, p.state, p.verify) for p in self.punches if p.serial == serial)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def terminal_entry(t: TerminalSpec, host: str | None = None, port: int | None = None) -> dict[str, Any]:
    entry = asdict(t)
    entry.update(transport=t.transport, kind=f"zk-{t.transport}", host=host, port=port)
    return entry


def roster_dict(pop: Population, endpoints: dict[str, tuple[str, int]] | None = None) -> dict[str, Any]:
    endpoints = endpoints or {}
    spec = asdict(pop.spec)
    spec["start"] = pop.spec.start.isoformat()
    spec["profile_mix"] = [list(x) for x in pop.spec.profile_mix]
    return {
        "version": VERSION,
        "spec": spec,
        "offices": [asdict(o) for o in pop.offices],
        "terminals": [terminal_entry(t, *endpoints.get(t.serial, (None, None))) for t in pop.terminals],
        "employees": [{"id_number": e.id_number, "employment_type": e.employment_type, "name": e.name,
                       "office": e.office, "pin": e.pin,
                       "terminals": [pop.terminals[i].serial for i in e.terminals]} for e in pop.employees],
        "holidays": {d.isoformat(): name for d, name in sorted(pop.holidays.items())},
        "working_days": [d.isoformat() for d in pop.working_days],
        "missed": [[pin, day.isoformat(), slot] for pin, day, slot in pop.missed],
        "punch_count": len(pop.punches),
    }


def write(directory: str | Path, pop: Population,
          endpoints: dict[str, tuple[str, int]] | None = None) -> tuple[Path, Path]:
    """Write roster.json and punches.csv.gz; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    punches = directory / PUNCHES
    _atomic_write(punches, gzip.compress(_csv(pop).encode(), compresslevel=1))
    roster = write_roster(directory, roster_dict(pop, endpoints))
    return roster, punches


def _csv(pop: Population) -> str:
    serials = [t.serial for t in pop.terminals]
    c = pop.columns
    if c is None or len(c["term"]) != len(pop.punches):  # built by hand: one row at a time
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows((serials[p.terminal], p.pin, p.local.isoformat(), p.true_utc.isoformat(), p.state, p.verify,
                     "|".join(p.tags)) for p in pop.punches)
        return buf.getvalue()
    # serials, PINs and ISO times have no commas or quotes, so plain joins make valid CSV
    ser = np.array(serials, object)[c["term"]].tolist()
    pins = [p.pin for p in pop.punches]
    local = np.datetime_as_string(c["local_s"].astype("datetime64[s]")).tolist()
    utc = np.datetime_as_string(c["utc_s"].astype("datetime64[s]")).tolist()
    tags = ["|".join(t) for t in TAGS]
    rows = map(",".join, zip(ser, pins, local, utc, map(str, c["state"].tolist()), map(str, c["verify"].tolist()),
                             [tags[b] for b in c["bits"].tolist()], strict=True))
    return ",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n"


def write_roster(directory: str | Path, roster: dict[str, Any]) -> Path:
    path = Path(directory) / ROSTER
    _atomic_write(path, json.dumps(roster, ensure_ascii=False, indent=1).encode())
    return path


def read_roster(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / ROSTER
    try:
        roster = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: berkas roster tidak ada (jalankan `hub simulate fleet` dulu)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GroundTruthError(f"{path}: bukan JSON yang sah: {exc}") from None
    if not isinstance(roster, dict) or roster.get("version") != VERSION:
        raise GroundTruthError(f"{path}: versi roster tidak dikenal (harus {VERSION})")
    for key in ("terminals", "employees", "offices"):
        if not isinstance(roster.get(key), list):
            raise GroundTruthError(f"{path}: bagian '{key}' hilang atau bukan daftar")
    return roster


def parse_punch_row(row: list[str], where: str) -> TruePunch:
    """One CSV row -> TruePunch; a bad row raises GroundTruthError saying which and why."""
    if len(row) != len(COLUMNS):
        raise GroundTruthError(f"{where}: {len(row)} kolom, harus {len(COLUMNS)} ({', '.join(COLUMNS)})")
    serial, pin, local, utc, state, verify, tags = row
    if not serial or not pin:
        raise GroundTruthError(f"{where}: serial dan pin tidak boleh kosong")
    try:
        return TruePunch(serial, pin, datetime.fromisoformat(local), datetime.fromisoformat(utc),
                         int(state), int(verify), tuple(t for t in tags.split("|") if t))
    except ValueError as exc:
        raise GroundTruthError(f"{where}: nilai tidak sah: {exc}") from None


def read_punches(directory: str | Path) -> list[TruePunch]:
    path = Path(directory) / PUNCHES
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: berkas punch tidak ada") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: bukan CSV gzip yang sah: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != list(COLUMNS):
        raise GroundTruthError(f"{path}: baris judul harus {','.join(COLUMNS)}, bukan {header}")
    return [parse_punch_row(row, f"{path} baris {n}") for n, row in enumerate(reader, start=2)]


def read(directory: str | Path) -> GroundTruth:
    return GroundTruth(read_roster(directory), read_punches(directory))


def working_days(roster: dict[str, Any]) -> list[date]:
    return [date.fromisoformat(d) for d in roster.get("working_days", [])]
