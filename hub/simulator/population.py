"""A simulated Pemda: offices, terminals, employees and every punch of a month.

Pure and deterministic: the same `PopulationSpec` (seed included) gives the same offices,
terminals, employees, PINs and punches, byte for byte. Nothing here touches a socket or a
file; fleet.py serves the result and groundtruth.py writes it down.

The day follows Kota Bengkulu's 4-punch scheme (asn-rules.md §1.4): 07:45 in, 12:00 break
out, 13:00 break in, 16:00 out, with the anomalies a reconciler has to cope with: late
arrivals, early leaves, missed punches, double punches seconds apart, people punching at two
terminals, terminals whose clock is minutes off, and one terminal whose clock fell back to
2000-01-01 (a flat RTC battery) for a few days. Year 2000 is the corrupt date on purpose: ZK
time cannot hold years outside 2000-2099 and pyzk raises on impossible dates such as
31 February, so a year-2000 date is what a real reset unit records and what every client can
still read back.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from hub.roster.identity import validate_identity
from hub.roster.names import terminal_name

# ZK state codes (zk-protocol.md §3.8): the slot a punch belongs to
STATE_IN, STATE_OUT, STATE_BREAK_OUT, STATE_BREAK_IN = 0, 1, 2, 3
VERIFY_PASSWORD, VERIFY_FINGER, VERIFY_CARD, VERIFY_FACE = 0, 1, 2, 15

# (name, scheduled time, state): Kota Bengkulu 2017 (asn-rules.md §1.4)
SLOTS = (("masuk", time(7, 45), STATE_IN), ("istirahat_keluar", time(12, 0), STATE_BREAK_OUT),
         ("istirahat_masuk", time(13, 0), STATE_BREAK_IN), ("pulang", time(16, 0), STATE_OUT))

ANOMALIES = ("late", "early_leave", "missed", "double", "second_terminal", "clock_offset", "corrupt_date")

OPD_NAMES = (
    ("SETDA", "Sekretariat Daerah"), ("SETWAN", "Sekretariat DPRD"), ("INSPEKTORAT", "Inspektorat"),
    ("BAPPEDA", "Badan Perencanaan Pembangunan Daerah"), ("BPKAD", "Badan Pengelolaan Keuangan dan Aset Daerah"),
    ("BAPENDA", "Badan Pendapatan Daerah"), ("BKPSDM", "Badan Kepegawaian dan Pengembangan SDM"),
    ("BPBD", "Badan Penanggulangan Bencana Daerah"), ("KESBANGPOL", "Badan Kesatuan Bangsa dan Politik"),
    ("DISDIKBUD", "Dinas Pendidikan dan Kebudayaan"), ("DINKES", "Dinas Kesehatan"),
    ("DPUPR", "Dinas Pekerjaan Umum dan Penataan Ruang"), ("DISPERKIM", "Dinas Perumahan dan Kawasan Permukiman"),
    ("SATPOLPP", "Satuan Polisi Pamong Praja"), ("DAMKAR", "Dinas Pemadam Kebakaran"),
    ("DINSOS", "Dinas Sosial"), ("DISNAKER", "Dinas Tenaga Kerja"), ("DP3AP2KB", "Dinas Pemberdayaan Perempuan, "
                                                                    "Perlindungan Anak dan KB"),
    ("DKP", "Dinas Ketahanan Pangan"), ("DLH", "Dinas Lingkungan Hidup"),
    ("DUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil"), ("DPMK", "Dinas Pemberdayaan Masyarakat dan Kelurahan"),
    ("DISHUB", "Dinas Perhubungan"), ("DISKOMINFO", "Dinas Komunikasi, Informatika dan Statistik"),
    ("DISKOP", "Dinas Koperasi dan UKM"), ("DPMPTSP", "Dinas Penanaman Modal dan PTSP"),
    ("DISPORA", "Dinas Kepemudaan dan Olahraga"), ("DISPUSIP", "Dinas Perpustakaan dan Kearsipan"),
    ("DKP2", "Dinas Kelautan dan Perikanan"), ("DISPAR", "Dinas Pariwisata"), ("DISTAN", "Dinas Pertanian"),
    ("DISDAG", "Dinas Perdagangan"), ("DISPERIN", "Dinas Perindustrian"), ("RSUD", "RSUD Harapan dan Doa"),
    ("KEC-GADING", "Kecamatan Gading Cempaka"), ("KEC-RATUAGUNG", "Kecamatan Ratu Agung"),
    ("KEC-RATUSAMBAN", "Kecamatan Ratu Samban"), ("KEC-SELEBAR", "Kecamatan Selebar"),
    ("KEC-TELUKSEGARA", "Kecamatan Teluk Segara"), ("KEC-SUNGAISERUT", "Kecamatan Sungai Serut"),
    ("KEC-MBH", "Kecamatan Muara Bangka Hulu"), ("KEC-KAMPUNGMELAYU", "Kecamatan Kampung Melayu"),
    ("KEC-SINGARANPATI", "Kecamatan Singaran Pati"),
) + tuple((f"PKM-{code}", f"Puskesmas {name}") for code, name in (
    ("JLGEDANG", "Jalan Gedang"), ("LINGKARBARAT", "Lingkar Barat"), ("SAWAHLEBAR", "Sawah Lebar"),
    ("NUSAINDAH", "Nusa Indah"), ("BASUKIRAHMAT", "Basuki Rahmat"), ("KUALALEMPUING", "Kuala Lempuing"),
    ("PASARIKAN", "Pasar Ikan"), ("ANGGUTATAS", "Anggut Atas"), ("PENURUNAN", "Penurunan"),
    ("KAMPUNGBALI", "Kampung Bali"), ("BERINGINRAYA", "Beringin Raya"), ("SUKAMERINDU", "Sukamerindu"),
    ("BENTIRING", "Bentiring"), ("BETUNGAN", "Betungan"), ("LINGKARTIMUR", "Lingkar Timur"),
    ("PADANGSERAI", "Padang Serai"), ("JEMBATANKECIL", "Jembatan Kecil"), ("TELAGADEWA", "Telaga Dewa"),
    ("SIDOMULYO", "Sidomulyo"), ("KANDANG", "Kandang"),
)) + tuple((f"SMP-{n}", f"SMP Negeri {n} Kota Bengkulu") for n in range(1, 13))

FIRST = ("Ahmad", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gunawan", "Hendra", "Indah", "Joko", "Kartika",
         "Lestari", "Muhammad", "Nurul", "Oktaviani", "Putri", "Rahmat", "Siti", "Taufik", "Utami", "Wahyu",
         "Yulia", "Zulkifli", "Agus", "Rina", "Dedi", "Sri", "Andi", "Yanti", "Irwan", "Herlina", "Rudi",
         "Nurhayati", "Bambang", "Desi", "Firman", "Ratna", "Suryadi", "Elvi", "Hartono")
LAST = ("Saputra", "Wati", "Hidayat", "Susanti", "Pratama", "Rahayu", "Siregar", "Nasution", "Harahap",
        "Lubis", "Purnomo", "Santoso", "Wijaya", "Kurniawan", "Hasibuan", "Safitri", "Marlina", "Syahputra",
        "Anggraini", "Fauzi", "Ramadhan", "Yusuf", "Efendi", "Handayani", "Setiawan", "Sari", "Putra")


@dataclass(frozen=True)
class PopulationSpec:
    devices: int = 90
    employees: int = 7000
    days: int = 30
    start: date = date(2026, 10, 1)
    seed: int = 1
    tz: str = "Asia/Jakarta"
    offices: int | None = None  # None: 30-75 chosen by the seed (never more than devices)
    profile_mix: tuple[tuple[str, float], ...] = (("tft", 0.7), ("mono", 0.15), ("face", 0.15))


@dataclass(frozen=True)
class Office:
    code: str
    name: str


@dataclass(frozen=True)
class TerminalSpec:
    index: int
    serial: str
    office: str  # office code
    profile: str
    comm_key: int
    tz: str
    clock_offset_s: int  # recorded local time = true local time + this
    corrupt: tuple[str, str] | None = None  # (from, until) true local ISO times with a year-2000 clock

    @property
    def transport(self) -> str:
        return "udp" if self.profile.startswith("mono") else "tcp"


@dataclass
class EmployeeSpec:
    index: int
    id_number: str  # NIP, NI PPPK or internal code
    employment_type: str  # pns, pppk, non_asn
    name: str
    office: str
    pin: str
    terminals: tuple[int, ...]  # home terminal first; a second one for people who work at two


class Punch(NamedTuple):
    """One punch that happened: where, who, what the terminal recorded and when it really was."""

    terminal: int
    pin: str
    local: datetime  # device-local time as recorded (offset or corrupt clock applied)
    true_utc: datetime  # the instant (naive UTC)
    state: int
    verify: int
    tags: tuple[str, ...] = ()


@dataclass
class Population:
    spec: PopulationSpec
    offices: list[Office]
    terminals: list[TerminalSpec]
    employees: list[EmployeeSpec]
    holidays: dict[date, str]
    working_days: list[date]
    punches: list[Punch] = field(default_factory=list)
    missed: list[tuple[str, date, str]] = field(default_factory=list)  # (pin, day, slot name)
    # the punches again as numpy columns (term, emp, local_s, utc_s, state, verify, bits; seconds
    # since 1970 as naive wall time), so writers and loaders need no Python loop per punch
    columns: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def records_by_terminal(self) -> dict[int, list[Punch]]:
        """Per terminal, its punches in the order it recorded them."""
        out: dict[int, list[Punch]] = {t.index: [] for t in self.terminals}
        for p in self.punches:
            out[p.terminal].append(p)
        return out

    def users_by_terminal(self) -> dict[int, list[EmployeeSpec]]:
        out: dict[int, list[EmployeeSpec]] = {t.index: [] for t in self.terminals}
        for e in self.employees:
            for t in e.terminals:
                out[t].append(e)
        return out

    def anomaly_counts(self) -> Counter:
        c: Counter = Counter()
        for p in self.punches:
            c.update(p.tags)
        c["missed"] = len(self.missed)
        return c


class PopulationError(ValueError):
    pass


def _check(spec: PopulationSpec) -> None:
    if spec.devices < 1 or spec.employees < 1 or spec.days < 1:
        raise PopulationError("jumlah terminal, pegawai dan hari harus >= 1 "
                              f"(devices={spec.devices}, employees={spec.employees}, days={spec.days})")
    if spec.employees > 999_999_999:
        raise PopulationError("PIN terminal maksimal 9 digit: pegawai terlalu banyak")
    if spec.offices is not None and not 1 <= spec.offices <= min(spec.devices, len(OPD_NAMES)):
        raise PopulationError(f"jumlah kantor {spec.offices} harus 1..{min(spec.devices, len(OPD_NAMES))}")
    ZoneInfo(spec.tz)


def _nip(rng: random.Random, kind: str, taken: set[str]) -> str:
    while True:
        born = date(rng.randint(1966, 1999), rng.randint(1, 12), rng.randint(1, 28))
        gender = rng.choice("12")
        if kind == "pns":
            tmt = rng.randint(born.year + 20, min(2024, born.year + 35))
            number = f"{born:%Y%m%d}{tmt}{rng.randint(1, 12):02d}{gender}{rng.randint(1, 999):03d}"
        else:
            number = f"{born:%Y%m%d}{rng.randint(2021, 2024)}{rng.randint(1, 12):02d}{gender}{rng.randint(1, 999):03d}"
        if number not in taken:
            taken.add(number)
            return validate_identity(number, kind)


def _calendar(spec: PopulationSpec, rng: random.Random) -> tuple[list[date], dict[date, str]]:
    days = [spec.start + timedelta(d) for d in range(spec.days)]
    weekdays = [d for d in days if d.weekday() < 5]
    holidays: dict[date, str] = {}
    if len(weekdays) >= 8:  # a couple of holidays (libur nasional / cuti bersama), never the first day
        for d in sorted(rng.sample(weekdays[1:], 2)):
            holidays[d] = "Libur nasional (simulasi)" if not holidays else "Cuti bersama (simulasi)"
    return [d for d in weekdays if d not in holidays], holidays


def _profiles(spec: PopulationSpec, rng: random.Random) -> list[str]:
    total = sum(w for _, w in spec.profile_mix)
    out: list[str] = []
    for name, weight in spec.profile_mix:
        out += [name] * round(spec.devices * weight / total)
    while len(out) < spec.devices:
        out.append(spec.profile_mix[0][0])
    out = out[:spec.devices]
    rng.shuffle(out)
    return out


def build_roster(spec: PopulationSpec) -> Population:
    """Offices, terminals, employees and the calendar (no punches yet)."""
    _check(spec)
    rng = random.Random(f"roster:{spec.seed}")
    n_off = spec.offices or min(spec.devices, len(OPD_NAMES), rng.randint(30, 75))
    offices = [Office(c, n) for c, n in OPD_NAMES[:n_off]]
    # every office gets one terminal; the rest go to the big ones (Setda, Dinkes, RSUD, ...)
    weights = [rng.uniform(0.5, 1.5) * (4 if i < 12 else 1) for i in range(n_off)]
    homes = list(range(n_off)) + rng.choices(range(n_off), weights, k=spec.devices - n_off)
    homes.sort()
    profiles = _profiles(spec, rng)
    n_skewed = max(1, spec.devices // 12) if spec.devices >= 3 else 0
    order = list(range(spec.devices))
    rng.shuffle(order)
    skewed = set(order[:n_skewed])
    corrupt_at = order[n_skewed] if spec.devices >= 2 else order[0]
    working, holidays = _calendar(spec, rng)
    terminals = []
    taken_serials: set[str] = set()
    for i in range(spec.devices):
        prefix = {"mono": "OGT", "mono8": "OGU", "face": "DGD", "speedface": "CKJ"}.get(profiles[i], "A7K")
        serial = f"{prefix}{rng.randint(10**9, 10**10 - 1)}"
        while serial in taken_serials:
            serial = f"{prefix}{rng.randint(10**9, 10**10 - 1)}"
        taken_serials.add(serial)
        offset = 0
        if i in skewed:  # minutes off, either way
            offset = rng.choice((-1, 1)) * rng.randint(3 * 60, 17 * 60)
        corrupt = None
        if i == corrupt_at and working:
            # the clock falls back to 2000-01-01 00:00 one morning and is fixed two working days later
            k = min(len(working) - 1, len(working) // 3)
            reset = datetime.combine(working[k], time(6, 30))
            fixed = datetime.combine(working[min(len(working) - 1, k + 2)], time(6, 30))
            corrupt = (reset.isoformat(), fixed.isoformat())
        comm_key = rng.randint(1, 999999) if rng.random() < 0.2 else 0
        terminals.append(TerminalSpec(i, serial, offices[homes[i]].code, profiles[i], comm_key, spec.tz,
                                      offset, corrupt))
    by_office: dict[str, list[int]] = {}
    for t in terminals:
        by_office.setdefault(t.office, []).append(t.index)
    # employees: spread by terminal count of the office, a few with a second terminal
    emp_weights = [len(by_office[o.code]) * rng.uniform(0.7, 1.3) for o in offices]
    taken: set[str] = set()
    pins = list(range(1, spec.employees + 1))
    rng.shuffle(pins)
    employees = []
    for i in range(spec.employees):
        office = rng.choices(offices, emp_weights)[0]
        roll = rng.random()
        kind = "pns" if roll < 0.7 else "pppk" if roll < 0.88 else "non_asn"
        id_number = f"THL-{i + 1:05d}" if kind == "non_asn" else _nip(rng, kind, taken)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        home = rng.choice(by_office[office.code])
        terms: tuple[int, ...] = (home,)
        if spec.devices > 1 and rng.random() < 0.03:
            other = rng.randrange(spec.devices - 1)
            terms = (home, other if other < home else other + 1)
        employees.append(EmployeeSpec(i, id_number, kind, name, office.code, str(pins[i]), terms))
    return Population(spec, offices, terminals, employees, holidays, working)


class _Clock:
    """What a terminal's clock shows at a true local time."""

    Y2K = datetime(2000, 1, 1)

    def __init__(self, t: TerminalSpec) -> None:
        self.offset = timedelta(seconds=t.clock_offset_s)
        self.corrupt = tuple(datetime.fromisoformat(x) for x in t.corrupt) if t.corrupt else None

    def recorded(self, true_local: datetime) -> tuple[datetime, tuple[str, ...]]:
        if self.corrupt and self.corrupt[0] <= true_local < self.corrupt[1]:
            return self.Y2K + (true_local - self.corrupt[0]), ("corrupt_date",)
        if self.offset:
            return true_local + self.offset, ("clock_offset",)
        return true_local, ()


def recorded_time(t: TerminalSpec, true_local: datetime) -> datetime:
    """The device-local time terminal `t` records for a punch at `true_local`."""
    return _Clock(t).recorded(true_local)[0]


# tag bits of a punch; TAGS[bits] is the tuple of names
_LATE, _EARLY, _DOUBLE, _SECOND, _OFFSET, _CORRUPT = 1, 2, 4, 8, 16, 32
_BIT_NAMES = ((_LATE, "late"), (_EARLY, "early_leave"), (_SECOND, "second_terminal"), (_OFFSET, "clock_offset"),
              (_CORRUPT, "corrupt_date"), (_DOUBLE, "double"))
TAGS = tuple(tuple(name for bit, name in _BIT_NAMES if bits & bit) for bits in range(64))
_EPOCH = datetime(1970, 1, 1)
_Y2K_S = int((datetime(2000, 1, 1) - _EPOCH).total_seconds())


def _delta(rng: np.random.Generator, slot: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from the scheduled slot time for n people, and the anomaly bits it makes."""
    r = rng.random(n)
    if slot == 0:  # arrive: mostly early, about 8 % late
        late = r < 0.08
        d = np.where(late, rng.uniform(60, 75 * 60, n), -np.abs(rng.normal(20 * 60, 12 * 60, n)) - 1)
        return d, late * _LATE
    if slot == 1:  # break out: in the 20 minutes after noon
        return rng.uniform(0, 20 * 60, n), np.zeros(n, np.int64)
    if slot == 2:  # break in: mostly before 13:00, some late
        late = r < 0.04
        return np.where(late, rng.uniform(60, 40 * 60, n), -rng.uniform(0, 15 * 60, n)), late * _LATE
    early = r < 0.05  # leave: after 16:00, about 5 % leave early
    return np.where(early, -rng.uniform(5 * 60, 90 * 60, n), np.abs(rng.normal(15 * 60, 12 * 60, n))), early * _EARLY


def generate(spec: PopulationSpec) -> Population:
    """The whole population, punches included, in true-time order (numpy: half a million
    punches in about a second)."""
    pop = build_roster(spec)
    rng = np.random.default_rng([spec.seed, 0x5055_4E43])
    zone = ZoneInfo(spec.tz)
    emps, terms = pop.employees, pop.terminals
    n = len(emps)
    home = np.array([e.terminals[0] for e in emps], np.int64)
    second = np.array([e.terminals[-1] for e in emps], np.int64)
    has2 = second != home
    verify_of = np.array([VERIFY_FACE if t.profile in ("face", "speedface") else VERIFY_FINGER for t in terms],
                         np.int64)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("emp", "term", "sec", "utcoff", "state", "verify", "bits")}

    def add(idx, term, sec, utcoff, state, verify, bits) -> None:
        for key, value in zip(cols, (idx, term, sec, np.full(len(idx), utcoff), np.full(len(idx), state),
                                     verify, bits), strict=True):
            cols[key].append(np.asarray(value, np.int64))

    for day in pop.working_days:
        day_s = (day - _EPOCH.date()).days * 86400
        utcoff = int(datetime.combine(day, time(12)).replace(tzinfo=zone).utcoffset().total_seconds())
        present = rng.random(n) >= 0.04  # sick, on leave, dinas luar: no punch at all
        away = has2 & (rng.random(n) < 0.4)  # people of two places punch at the other one some days
        for slot, (name, at, state) in enumerate(SLOTS):
            missed = present & (rng.random(n) < (0.025 if slot in (0, 3) else 0.06))
            pop.missed.extend((emps[i].pin, day, name) for i in np.flatnonzero(missed))
            delta, bits = _delta(rng, slot, n)
            move = away & (rng.random(n) < 0.7) if slot in (0, 3) else np.zeros(n, bool)
            term = np.where(move, second, home)
            verify = np.where(rng.random(n) > 0.03, verify_of[term], VERIFY_PASSWORD)
            double = rng.random(n) < 0.02  # the terminal did not beep: punched again seconds later
            gap = rng.integers(2, 21, n)
            sec = day_s + at.hour * 3600 + at.minute * 60 + delta.astype(np.int64)
            bits = bits | np.where(move & has2, _SECOND, 0)
            idx = np.flatnonzero(present & ~missed)
            add(idx, term[idx], sec[idx], utcoff, state, verify[idx], bits[idx])
            idx = idx[double[idx]]
            add(idx, term[idx], sec[idx] + gap[idx], utcoff, state, verify[idx], bits[idx] | _DOUBLE)
    if not cols["emp"]:
        return pop
    c = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(c["sec"], kind="stable")  # equal instants keep the order they happened in
    c = {k: v[order] for k, v in c.items()}
    local, bits = c["sec"] + np.array([t.clock_offset_s for t in terms], np.int64)[c["term"]], c["bits"]
    bits = bits | np.where(np.array([bool(t.clock_offset_s) for t in terms])[c["term"]], _OFFSET, 0)
    for t in terms:
        if t.corrupt:  # the clock fell back to 2000-01-01 00:00 and ran from there
            start, until = ((datetime.fromisoformat(x) - _EPOCH) // timedelta(seconds=1) for x in t.corrupt)
            hit = (c["term"] == t.index) & (c["sec"] >= start) & (c["sec"] < until)
            local = np.where(hit, _Y2K_S + c["sec"] - start, local)
            bits = np.where(hit, (bits & ~_OFFSET) | _CORRUPT, bits)
    pins = np.array([e.pin for e in emps], object)
    pop.columns = {"term": c["term"], "emp": c["emp"], "local_s": local, "utc_s": c["sec"] - c["utcoff"],
                   "state": c["state"], "verify": c["verify"], "bits": bits}
    # _make builds the tuples in C (Punch(...) goes through a Python-level __new__)
    pop.punches = list(map(Punch._make, zip(c["term"].tolist(), pins[c["emp"]].tolist(),
                                            local.astype("datetime64[s]").tolist(),
                                            (c["sec"] - c["utcoff"]).astype("datetime64[s]").tolist(),
                                            c["state"].tolist(), c["verify"].tolist(),
                                            [TAGS[b] for b in bits.tolist()], strict=True)))
    return pop


def zk_time(local_s: np.ndarray) -> np.ndarray:
    """ZK time values (zk-protocol.md §3.6) of wall times given as seconds since 1970; the
    same numbers as hub.protocols.zk.encode_time, for a whole column at once."""
    t = local_s.astype("datetime64[s]")
    days = t.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12
    day = (days - months).astype(np.int64)
    sod = (t - days).astype(np.int64)
    return ((year % 100) * 12 * 31 + month * 31 + day) * 86400 + sod


def user_name(emp: EmployeeSpec, profile: str) -> str:
    """The name as the terminal holds it (8 bytes on 28-byte users, 23 on 72-byte ones)."""
    return terminal_name(emp.name, 8 if profile.startswith("mono") else 23).text
