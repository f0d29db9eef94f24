"""An oracle of our own: a generated month with the anomalies BPKAD meets, and a reference
computation of its daily statuses and recap written from the rules as documented (the
pemda-default ruleset, asn-rules.md), sharing no code with hub.reconcile.

The month (August 2026: two public holidays) has two offices in two time zones:
- OPD-A (WIB): terminal A-1; A-2 whose clock drifted (its punches are flagged and wait for
  a reviewer; one of its days is accepted in bulk, another rejected, a third left pending);
  A-USB, a USB import of some of A-1's punches (the same punches again).
- OPD-B (WITA, go-live 2026-08-04): terminal B-1, dead for three working days.
Punches land on the second boundaries of the rules (07:30:59 / 07:31:00, 15:59:59 / 16:00),
double punches (the same second on two paths, a second press minutes later, a double press
across the noon boundary), missing check-ins and check-outs, absences, leave, corrections
(approved and pending), an employee who joined mid-month and one unknown PIN.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

MONTH = date(2026, 8, 1)
LAST = date(2026, 8, 31)
HOLIDAYS = {date(2026, 8, 17), date(2026, 8, 25)}  # Hari Kemerdekaan, Maulid Nabi (holidays-id.toml)
GO_LIVE_B = date(2026, 8, 4)
DEAD_B = {date(2026, 8, 10), date(2026, 8, 11), date(2026, 8, 12)}
DRIFT_ACCEPTED, DRIFT_PENDING, DRIFT_REJECTED = date(2026, 8, 19), date(2026, 8, 20), date(2026, 8, 21)
DEDUPE = 180
BRACKETS = (1, 31, 61, 91)
LATE_PCT = (0.5, 1.0, 1.25, 1.5)
EARLY_PCT = (0.5, 1.0, 1.25, 1.5)
MISSING_PCT = 1.5
ABSENT_PCT = 3.0
LEAVE_PCT = {"CT": 0.0, "CS": 0.0, "I": 1.5, "DL": 0.0}
LEAVE_PRESENT = {"CT": True, "CS": True, "I": False, "DL": True}
CLOCK_SUSPECT = 1  # hub.punch.PunchFlag.CLOCK_SUSPECT, as the store keeps it


@dataclass
class Person:
    key: str
    nip: str
    name: str
    office: str
    pin: str
    pagu: int
    joined: date | None = None


@dataclass
class P:
    serial: str
    pin: str
    at: datetime
    flags: int = 0
    state: str = "check_in"


@dataclass
class Scenario:
    people: list[Person]
    punches: list[P]
    leaves: list[tuple[str, date, date, str]]  # person key, from, to, code
    # (person key, day, kind, local time | punch (serial, pin, at) | status, approved)
    corrections: list[tuple[str, date, str, object, bool]]
    decisions: dict[tuple[str, date], str] = field(default_factory=dict)  # (serial, day) -> accepted|rejected


def workdays() -> list[date]:
    out, d = [], MONTH
    while d <= LAST:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _at(day: date, hms: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hms))


def generate(seed: int = 20260801) -> Scenario:
    rng = random.Random(seed)
    people = [Person(f"a{i}", f"19{80 + i:02d}0101201001{1 + i % 2}{i:03d}", f"Pegawai A{i:02d}", "A", str(100 + i),
                     2_500_000 + 12_345 * rng.randint(0, 300)) for i in range(12)]
    people += [Person(f"b{i}", f"19{70 + i:02d}0202201102{1 + i % 2}{i:03d}", f"Pegawai B{i:02d}", "B", str(200 + i),
                      3_000_000 + 9_876 * rng.randint(0, 300)) for i in range(8)]
    people[10].joined = date(2026, 8, 15)
    punches: list[P] = []

    def day_of(p: Person, d: date) -> None:
        serial = "A-1" if p.office == "A" else "B-1"
        if p.office == "B" and d in DEAD_B:
            return
        roll = rng.random()
        if roll < 0.03:
            return  # absent
        end = time(16, 30) if d.weekday() == 4 else time(16)
        cin = _at(d, "06:45") + timedelta(seconds=rng.randint(0, 44 * 60 + 59))  # on time
        cout = datetime.combine(d, end) + timedelta(seconds=rng.randint(0, 90 * 60))
        if roll < 0.13:
            cin = _at(d, "07:31") + timedelta(seconds=rng.randint(0, 100 * 60))  # late, any bracket
        if 0.13 <= roll < 0.20:
            cout = datetime.combine(d, end) - timedelta(seconds=rng.randint(1, 100 * 60))  # early
        if roll < 0.24 or roll >= 0.30:
            punches.append(P(serial, p.pin, cin))
        if not 0.24 <= roll < 0.27 and roll < 0.97:
            punches.append(P(serial, p.pin, cout, state="check_out"))
        if 0.30 <= roll < 0.36:  # a second press within three minutes
            punches.append(P(serial, p.pin, cin + timedelta(seconds=rng.randint(5, DEDUPE))))
        if 0.36 <= roll < 0.42 and serial == "A-1":  # the same punch again through a USB import
            punches.append(P("A-USB", p.pin, cin))
        if 0.42 <= roll < 0.46:  # a stray punch at lunch
            punches.append(P(serial, p.pin, _at(d, "12:05") + timedelta(seconds=rng.randint(0, 1800)),
                             state="check_out"))

    for p in people:
        for d in workdays():
            if d in HOLIDAYS or (p.joined and d < p.joined):
                continue
            if p.key in ("a3", "a4") and d in (DRIFT_ACCEPTED, DRIFT_PENDING, DRIFT_REJECTED):
                # A-2 with a drifted clock: their only punches of the day are flagged.
                punches.append(P("A-2", p.pin, _at(d, "07:20"), CLOCK_SUSPECT))
                punches.append(P("A-2", p.pin, _at(d, "16:10"), CLOCK_SUSPECT, "check_out"))
                continue
            day_of(p, d)
    # Second boundaries, by hand (the days are working days that are not otherwise special).
    fixed = {
        ("a0", date(2026, 8, 3)): ["07:30:59", "16:00:00"],  # on time to the second: H
        ("a0", date(2026, 8, 4)): ["07:31:00", "15:59:59"],  # TL1 (1 min) + PSW1 (1 s early)
        ("a1", date(2026, 8, 3)): ["08:00:59", "15:30:00"],  # 30 min late: TL1; 30 min early: PSW1
        ("a1", date(2026, 8, 4)): ["08:01:00", "15:29:59"],  # TL2 + PSW2
        ("a1", date(2026, 8, 5)): ["09:01:00", "14:29:59"],  # TL4 + PSW4
        ("a2", date(2026, 8, 6)): ["11:59:30", "12:00:10"],  # a double press across noon: TL4 + TAP
        ("a2", date(2026, 8, 7)): ["07:10:00", "16:29:55", "16:30:21"],  # Friday, choose last: H
        ("a5", date(2026, 8, 10)): ["07:20:00", "15:29:55", "15:30:21"],  # choose last: PSW1, not PSW2
        ("b0", date(2026, 8, 13)): ["06:00:00", "23:59:59"],  # window edges (WITA)
        ("b1", date(2026, 8, 13)): ["05:59:59", "12:00:00"],  # before the window; out at noon: TAM+PSW4
    }
    for (key, d), times in fixed.items():
        p = next(x for x in people if x.key == key)
        serial = "A-1" if p.office == "A" else "B-1"
        punches[:] = [x for x in punches if not (x.pin == p.pin and x.at.date() == d)]
        punches += [P(serial, p.pin, _at(d, t), state="check_in" if t < "12" else "check_out") for t in times]
    punches.append(P("A-1", "999", _at(date(2026, 8, 5), "07:12")))  # a PIN nobody has
    leaves = [("a5", date(2026, 8, 26), date(2026, 8, 28), "CT"), ("a6", date(2026, 8, 21), date(2026, 8, 21), "I"),
              ("b2", date(2026, 8, 11), date(2026, 8, 11), "CS")]  # leave on a dead-terminal day
    a7 = next(p for p in people if p.key == "a7")
    day7 = date(2026, 8, 27)
    punches[:] = [x for x in punches if not (x.pin == a7.pin and x.at.date() == day7)]
    punches.append(P("A-1", a7.pin, _at(day7, "07:05")))  # no check-out: TAP, corrected below
    a8 = next(p for p in people if p.key == "a8")
    day8 = date(2026, 8, 28)
    punches[:] = [x for x in punches if not (x.pin == a8.pin and x.at.date() == day8)]
    wrong = P("A-1", a8.pin, _at(day8, "06:30"))  # someone else's finger: voided
    punches += [wrong, P("A-1", a8.pin, _at(day8, "09:40")), P("A-1", a8.pin, _at(day8, "16:05"), state="check_out")]
    a9 = next(p for p in people if p.key == "a9")
    day9 = date(2026, 8, 31)
    punches[:] = [x for x in punches if not (x.pin == a9.pin and x.at.date() == day9)]  # absent: DL set
    corrections = [
        ("a7", day7, "add_punch", _at(day7, "16:10"), True),
        ("a8", day8, "void_punch", ("A-1", a8.pin, wrong.at), True),
        ("a9", day9, "set_status", "DL", True),
        ("a9", date(2026, 8, 3), "set_status", "DL", False),  # pending: changes nothing
    ]
    decisions = {("A-2", DRIFT_ACCEPTED): "accepted", ("A-2", DRIFT_REJECTED): "rejected"}
    return Scenario(people, punches, leaves, corrections, decisions)


# --- the reference computation -------------------------------------------------------------


def _bracket(minutes: int) -> int:
    return sum(1 for b in BRACKETS if minutes >= b)


def _secs(t: datetime) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def judge(punches: list[tuple[datetime, int]], day: date) -> tuple[str, float, int, int]:
    """(codes, %, minutes late, minutes early) of one day's punches (time, tie-break id)."""
    ps = sorted(punches)
    runs: list[int] = []  # run number of each punch: a chain of presses at most DEDUPE apart
    for i, (t, _) in enumerate(ps):
        runs.append(runs[-1] if i and (t - ps[i - 1][0]).total_seconds() <= DEDUPE else (runs[-1] + 1 if i else 0))
    ins = [i for i, (t, _) in enumerate(ps) if t.date() == day and 6 * 3600 <= _secs(t) < 12 * 3600]
    chosen_in = ins[0] if ins else None
    outs = [i for i, (t, _) in enumerate(ps) if t.date() == day and _secs(t) >= 12 * 3600
            and (chosen_in is None or runs[i] != runs[chosen_in])]
    chosen_out = outs[-1] if outs else None
    if chosen_in is None and chosen_out is None:
        return "TK", ABSENT_PCT, 0, 0
    codes, pct, late_min, early_min = [], 0.0, 0, 0
    if chosen_in is None:
        codes.append("TAM")
        pct += MISSING_PCT
    else:
        late = _secs(ps[chosen_in][0]) - (7 * 3600 + 30 * 60)
        if late > 59:
            late_min = max(1, late // 60)
            b = _bracket(late_min)
            codes.append(f"TL{b}")
            pct += LATE_PCT[b - 1]
    if chosen_out is None:
        codes.append("TAP")
        pct += MISSING_PCT
    else:
        end = (16 * 3600 + 30 * 60) if day.weekday() == 4 else 16 * 3600
        early = end - _secs(ps[chosen_out][0])
        if early > 0:
            early_min = math.ceil(early / 60)
            b = _bracket(early_min)
            codes.append(f"PSW{b}")
            pct += EARLY_PCT[b - 1]
    return "+".join(codes) or "H", round(pct, 4), late_min, early_min


def expected(sc: Scenario) -> dict[str, dict[date, tuple[str, float, int, int]]]:
    """person key -> day -> (status, %, late, early), for every judged day."""
    by_person: dict[str, list[tuple[P, int]]] = {}
    pin_of = {p.pin: p for p in sc.people}
    for i, x in enumerate(sc.punches):
        if x.pin in pin_of:
            by_person.setdefault(pin_of[x.pin].key, []).append((x, i))
    approved = [c for c in sc.corrections if c[4]]
    # Terminals of each office; terminals each person used; days each terminal held data.
    office_terminals = {"A": {"A-1", "A-2", "A-USB"}, "B": {"B-1"}}
    data_days: dict[str, set[date]] = {}
    for x in sc.punches:
        data_days.setdefault(x.serial, set()).add(x.at.date())
    out: dict[str, dict[date, tuple[str, float, int, int]]] = {}
    for p in sc.people:
        mine = by_person.get(p.key, [])
        used = {x.serial for x, _ in mine}
        terminals = office_terminals[p.office] | used
        days = out.setdefault(p.key, {})
        for d in workdays():
            if d in HOLIDAYS:
                continue
            if p.office == "B" and d < GO_LIVE_B:
                continue
            if p.joined and d < p.joined:
                continue
            status = next((c[3] for c in approved if c[0] == p.key and c[1] == d and c[2] == "set_status"), None)
            if status is not None:
                days[d] = (str(status), ABSENT_PCT if status == "TK" else LEAVE_PCT.get(str(status), 0.0), 0, 0)
                continue
            leave = next((lv for lv in sc.leaves if lv[0] == p.key and lv[1] <= d <= lv[2]), None)
            if leave is not None:
                days[d] = (leave[3], LEAVE_PCT[leave[3]], 0, 0)
                continue
            voided = {c[3] for c in approved if c[0] == p.key and c[2] == "void_punch"}
            day_p = [(x, i) for x, i in mine if x.at.date() == d]
            # A void takes the whole double press it belongs to.
            ordered = sorted(day_p, key=lambda xi: (xi[0].at, xi[1]))
            gone: set[int] = set()
            for j, (x, _i) in enumerate(ordered):
                if (x.serial, x.pin, x.at) in voided:
                    k = j
                    while k > 0 and (ordered[k][0].at - ordered[k - 1][0].at).total_seconds() <= DEDUPE:
                        k -= 1
                    m = j
                    while m + 1 < len(ordered) and (ordered[m + 1][0].at - ordered[m][0].at).total_seconds() \
                            <= DEDUPE:
                        m += 1
                    gone |= {ordered[n][1] for n in range(k, m + 1)}
            day_p = [(x, i) for x, i in day_p if i not in gone]
            adds = [(c[3], -1000 - n) for n, c in enumerate(approved) if c[0] == p.key and c[1] == d
                    and c[2] == "add_punch"]
            sure = [(x.at, i) for x, i in day_p if not x.flags or sc.decisions.get((x.serial, d)) == "accepted"]
            doubtful = [(x.at, i) for x, i in day_p if x.flags and (x.serial, d) not in sc.decisions]
            a = judge(sure + adds, d)
            if doubtful:
                b = judge(sure + doubtful + adds, d)
                if a != b:
                    days[d] = ("TV", 0.0, 0, 0)
                    continue
            if a[0] == "TK" and not any(d in data_days.get(t, ()) for t in terminals):
                days[d] = ("TD", 0.0, 0, 0)
                continue
            days[d] = a
    return out


def expected_recap(sc: Scenario) -> dict[str, dict[str, object]]:
    """person key -> the recap columns a reviewer rebuilds by hand."""
    out = {}
    for p in sc.people:
        days = expected(sc)[p.key]
        row: dict[str, object] = {}
        counts: dict[str, int] = {}
        present = 0
        pct = Decimal(0)
        for status, day_pct, _late, _early in days.values():
            codes = status.split("+")
            for c in codes:
                if c != "H":
                    counts[c] = counts.get(c, 0) + 1
            if status in LEAVE_PCT:
                present += LEAVE_PRESENT[status]
            elif status not in ("TK", "TD", "TV"):
                present += 1
                counts["hadir"] = counts.get("hadir", 0) + 1
            pct += Decimal(repr(day_pct))
        capped = min(Decimal(100), pct)
        row.update(counts)
        row["hari_kerja"] = len(days)
        row["libur"] = sum(1 for d in HOLIDAYS if d.weekday() < 5 and (not p.joined or d >= p.joined)
                           and (p.office == "A" or d >= GO_LIVE_B))
        row["menit_terlambat"] = sum(v[2] for v in days.values())
        row["menit_pulang_cepat"] = sum(v[3] for v in days.values())
        row["potongan_pct"] = float(pct)
        row["potongan_disiplin_pct"] = float(capped)
        row["potongan_rp"] = int((Decimal(p.pagu) * capped / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        row["tpp_diterima"] = p.pagu - row["potongan_rp"]
        row["persen_kehadiran"] = float((Decimal(present) * 100 / len(days)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)) if days else 0.0
        out[p.key] = row
    return out


# --- into a store -------------------------------------------------------------------------


def seed_store(engine, sc: Scenario) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Offices, terminals, people, punches (through the hub's ingest), leave, corrections
    (proposed by one person, approved by another), quarantine decisions; and each terminal's
    last good pull, after the month (the nightly pull)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from hub.punch import Punch, Source, State, Verify
    from hub.reconcile.corrections import approve_correction, propose_correction
    from hub.reconcile.evidence import decide_punches
    from hub.reconcile.leave import add_leave
    from hub.store.ingest import ingest_punches
    from hub.store.models import Device, Employee, IngestRun, PinMapping, RawPunch, Site

    zones = {"A": "Asia/Jakarta", "B": "Asia/Makassar"}
    with Session(engine) as s:
        sites = {"A": Site(code="OPD-A", name="Dinas A", tz=zones["A"]),
                 "B": Site(code="OPD-B", name="Dinas B", tz=zones["B"], go_live=GO_LIVE_B)}
        s.add_all(sites.values())
        s.flush()
        devs = {serial: Device(serial=serial, name=serial, kind=kind, site_id=sites[o].id, tz=zones[o],
                               capabilities={})
                for serial, o, kind in (("A-1", "A", "zk-tcp"), ("A-2", "A", "zk-tcp"), ("A-USB", "A", "file"),
                                        ("B-1", "B", "zk-tcp"))}
        s.add_all(devs.values())
        s.flush()
        emps = {}
        for p in sc.people:
            e = Employee(id_number=p.nip, employment_type="pns", name=p.name, site_id=sites[p.office].id,
                         monthly_tpp=p.pagu, joined_on=p.joined)
            s.add(e)
            s.flush()
            s.add(PinMapping(employee_id=e.id, pin=p.pin, pin_group="default"))
            emps[p.key] = e.id
        for dev in devs.values():
            if dev.kind != "file":
                s.add(IngestRun(device_id=dev.id, source="zk_tcp", kind="pull", status="ok",
                                started_at=datetime(2026, 9, 1, 18, 0), finished_at=datetime(2026, 9, 1, 18, 1),
                                details={}))
        s.commit()
        dev_ids = {k: v.id for k, v in devs.items()}
    ingest_punches(engine, [Punch(dev_ids[x.serial], Source.FILE if x.serial == "A-USB" else Source.ZK_TCP, x.pin,
                                  x.at, zones["A" if x.serial.startswith("A") else "B"], State(x.state),
                                  Verify.FINGERPRINT, flags=x.flags) for x in sc.punches])
    with Session(engine) as s:
        for key, start, end, code in sc.leaves:
            add_leave(s, employee_id=emps[key], start=start, end=end, type=code, author="operator",
                      reference="800/1")
        for key, day, kind, what, approved in sc.corrections:
            kw: dict[str, object] = {}
            if kind == "add_punch":
                kw = {"local_time": what, "state": "check_out"}
            elif kind == "void_punch":
                serial, pin, at = what  # type: ignore[misc]
                kw = {"punch_id": s.scalar(select(RawPunch.id).where(
                    RawPunch.device_id == dev_ids[serial], RawPunch.pin == pin, RawPunch.local_time == at))}
            else:
                kw = {"status": what}
            c = propose_correction(s, employee_id=emps[key], day=day, kind=kind, reason="oracle", author="operator",
                                   **kw)
            if approved:
                approve_correction(s, c.id, "kabid")
        for (serial, day), decision in sc.decisions.items():
            lo = datetime.combine(day, time())
            ids = list(s.scalars(select(RawPunch.id).where(RawPunch.device_id == dev_ids[serial],
                                                           RawPunch.local_time >= lo,
                                                           RawPunch.local_time < lo + timedelta(days=1))))
            decide_punches(s, ids, decision, "oracle", "kabid")
        s.commit()
    return emps
