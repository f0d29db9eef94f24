"""The simulated population: deterministic, valid identities, the 4-punch day, every anomaly,
and a ground truth that survives a round trip; registering it in the store (SQLite + PostgreSQL)."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.roster.identity import validate_identity
from hub.simulator import groundtruth
from hub.simulator.fleet import parse_mix
from hub.simulator.population import (
    ANOMALIES,
    OPD_NAMES,
    SLOTS,
    PopulationError,
    PopulationSpec,
    build_roster,
    generate,
)

SMALL = PopulationSpec(devices=12, employees=600, days=21, start=date(2026, 10, 5), seed=7)


@pytest.fixture(scope="module")
def pop():
    return generate(SMALL)


def test_same_seed_same_population_other_seed_differs(pop) -> None:
    again = generate(SMALL)
    assert again.punches == pop.punches
    assert again.employees == pop.employees and again.terminals == pop.terminals
    other = generate(PopulationSpec(**{**SMALL.__dict__, "seed": 8}))
    assert other.punches != pop.punches
    assert [e.pin for e in other.employees] != [e.pin for e in pop.employees]


def test_pins_unique_short_numeric_never_the_identity_number(pop) -> None:
    pins = [e.pin for e in pop.employees]
    assert len(set(pins)) == len(pins)
    for e in pop.employees:
        assert e.pin.isdigit() and len(e.pin) <= 9 and not e.pin.startswith("0")
        assert e.pin != e.id_number


def test_identity_numbers_valid_and_unique(pop) -> None:
    kinds = Counter(e.employment_type for e in pop.employees)
    assert set(kinds) == {"pns", "pppk", "non_asn"} and kinds["pns"] > kinds["pppk"] > kinds["non_asn"]
    for e in pop.employees:
        assert validate_identity(e.id_number, e.employment_type) == e.id_number
    assert len({e.id_number for e in pop.employees}) == len(pop.employees)


def test_full_size_roster_shape() -> None:
    roster = build_roster(PopulationSpec())
    assert 30 <= len(roster.offices) <= 75 and len({o.code for o in roster.offices}) == len(roster.offices)
    assert len(roster.terminals) == 90 and len({t.serial for t in roster.terminals}) == 90
    offices_with_terminal = {t.office for t in roster.terminals}
    assert offices_with_terminal == {o.code for o in roster.offices}
    profiles = Counter(t.profile for t in roster.terminals)
    assert profiles["tft"] > profiles["mono"] > 0 and profiles["face"] > 0
    assert len(roster.employees) == 7000
    assert all(d.weekday() < 5 and d not in roster.holidays for d in roster.working_days)
    assert len(roster.holidays) == 2
    assert sum(1 for t in roster.terminals if t.corrupt) == 1
    assert sum(1 for t in roster.terminals if t.clock_offset_s) >= 3


def test_bad_specs_are_refused_with_a_reason() -> None:
    with pytest.raises(PopulationError, match="harus >= 1"):
        build_roster(PopulationSpec(devices=0))
    with pytest.raises(PopulationError, match="jumlah kantor"):
        build_roster(PopulationSpec(devices=5, offices=6))
    assert len(OPD_NAMES) >= 75


def _true_local(p) -> datetime:
    return p.true_utc + timedelta(hours=7)  # Asia/Jakarta has no DST


def test_four_punch_scheme_statistics(pop) -> None:
    by_slot: dict[int, list[float]] = {state: [] for _n, _t, state in SLOTS}
    for p in pop.punches:
        if "double" in p.tags:
            continue
        t = _true_local(p)
        by_slot[p.state].append(t.hour + t.minute / 60 + t.second / 3600)
    ins, b_out, b_in, outs = (by_slot[s] for s in (0, 2, 3, 1))
    assert 7.0 < statistics.median(ins) < 7.75  # most arrive before 07:45
    assert 0.04 < sum(h > 7.75 for h in ins) / len(ins) < 0.14  # about 8 % late
    assert all(12.0 <= h <= 12.34 for h in b_out)
    assert 12.7 < statistics.median(b_in) <= 13.0
    assert statistics.median(outs) > 16.0 and 0.02 < sum(h < 16 for h in outs) / len(outs) < 0.1
    # about 4 punches per employee and working day, fewer for absences and misses
    per_day = len(pop.punches) / (len(pop.employees) * len(pop.working_days))
    assert 3.5 < per_day < 4.1
    assert all(p.local.weekday() < 5 for p in pop.punches if "corrupt_date" not in p.tags)


def test_every_anomaly_kind_present_and_clocks_consistent(pop) -> None:
    counts = pop.anomaly_counts()
    assert all(counts[a] > 0 for a in ANOMALIES), counts
    terms = {t.index: t for t in pop.terminals}
    for p in pop.punches:
        t = terms[p.terminal]
        if "corrupt_date" in p.tags:
            assert p.local.year == 2000
        else:
            assert p.local - _true_local(p) == timedelta(seconds=t.clock_offset_s)
    doubles = [p for p in pop.punches if "double" in p.tags]
    firsts = {(p.terminal, p.pin, p.state): p for p in pop.punches if "double" not in p.tags}
    for d in doubles[:50]:  # a second punch 2-20 s after a first one of the same slot
        assert any(abs((d.true_utc - q.true_utc).total_seconds()) <= 20
                   for q in pop.punches if q.pin == d.pin and q.state == d.state and q is not d)
    assert firsts
    two = [e for e in pop.employees if len(e.terminals) == 2]
    assert two and all(p.terminal in e.terminals for e in two for p in pop.punches if p.pin == e.pin)


def test_ground_truth_round_trip(pop, tmp_path: Path) -> None:
    groundtruth.write(tmp_path, pop, {pop.terminals[0].serial: ("127.0.0.1", 4370)})
    gt = groundtruth.read(tmp_path)
    serial = {t.index: t.serial for t in pop.terminals}
    assert [(serial[p.terminal], p.pin, p.local, p.true_utc, p.state, p.verify, p.tags) for p in pop.punches] \
        == [tuple(p) for p in gt.punches]
    assert gt.roster["terminals"][0]["port"] == 4370
    assert [e["pin"] for e in gt.roster["employees"]] == [e.pin for e in pop.employees]
    assert groundtruth.working_days(gt.roster) == pop.working_days
    assert len(gt.roster["missed"]) == len(pop.missed)
    assert sum(len(v) for v in gt.by_serial().values()) == len(pop.punches)


def test_ground_truth_refuses_bad_files(tmp_path: Path) -> None:
    with pytest.raises(groundtruth.GroundTruthError, match="tidak ada"):
        groundtruth.read_roster(tmp_path)
    (tmp_path / groundtruth.ROSTER).write_text("{not json")
    with pytest.raises(groundtruth.GroundTruthError, match="bukan JSON"):
        groundtruth.read_roster(tmp_path)
    (tmp_path / groundtruth.PUNCHES).write_bytes(b"plain text")
    with pytest.raises(groundtruth.GroundTruthError, match="gzip"):
        groundtruth.read_punches(tmp_path)


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=9))
def test_punch_row_parser_never_crashes(row: list[str]) -> None:
    try:
        p = groundtruth.parse_punch_row(row, "x baris 2")
    except groundtruth.GroundTruthError as exc:
        assert "x baris 2" in str(exc)
    else:
        assert p.serial and p.pin and isinstance(p.local_time, datetime)


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_mix_parser_never_crashes(text: str) -> None:
    try:
        mix = parse_mix(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert mix and all(k in ("zk", "adms", "mqtt") and v > 0 for k, v in mix.items())


@given(st.dictionaries(st.sampled_from(["zk", "adms", "mqtt"]), st.integers(1, 100_000), min_size=1))
def test_mix_parser_round_trip(mix: dict[str, int]) -> None:
    assert parse_mix(",".join(f"{k}={v}" for k, v in mix.items())) == mix
    assert parse_mix(" , ".join(f" {k.upper()} = {v} " for k, v in mix.items())) == mix


def test_mix_parser_messages() -> None:
    with pytest.raises(ValueError, match="tidak dikenal"):
        parse_mix("zk=10,dahua=3")
    with pytest.raises(ValueError, match="dua kali"):
        parse_mix("zk=1,zk=2")
    with pytest.raises(ValueError, match="jenis=jumlah"):
        parse_mix("zk")


def test_register_roster_in_store(engine, tmp_path: Path) -> None:
    from hub.fleet.seed import register
    from hub.store.models import Device, Employee, EmployeeSite, PinMapping, Site

    small = generate(PopulationSpec(devices=6, employees=150, days=3, start=date(2026, 10, 5), seed=3))
    groundtruth.write(tmp_path, small, {t.serial: ("127.0.0.1", 30000 + t.index) for t in small.terminals})
    roster = groundtruth.read_roster(tmp_path)
    with Session(engine) as s, s.begin():
        res = register(s, roster, "kota")
    assert (res.sites, res.devices_added, res.employees, res.pins) == (6, 6, 150, 150) and not res.conflicts
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 6
        devices = {d.serial: d for d in s.scalars(select(Device))}
        assert {d.port for d in devices.values()} == {30000 + i for i in range(6)}
        assert all(d.pin_group == "kota" and d.kind in ("zk-tcp", "zk-udp") for d in devices.values())
        pins = dict(s.execute(select(Employee.id_number, PinMapping.pin).join(
            PinMapping, PinMapping.employee_id == Employee.id).where(PinMapping.pin_group == "kota")).all())
        assert pins == {e.id_number: e.pin for e in small.employees}
        extra = s.scalar(select(func.count()).select_from(EmployeeSite))
    # again, after a restart on other ports: addresses updated, nothing duplicated
    for t in roster["terminals"]:
        t["port"] += 100
    with Session(engine) as s, s.begin():
        res = register(s, roster, "kota")
    assert (res.sites, res.devices_added, res.devices_updated, res.employees, res.pins) == (0, 0, 6, 0, 0)
    with Session(engine) as s:
        assert {d.port for d in s.scalars(select(Device))} == {30100 + i for i in range(6)}
        assert s.scalar(select(func.count()).select_from(PinMapping)) == 150
        assert s.scalar(select(func.count()).select_from(EmployeeSite)) == extra
