"""`hub doctor`: is this installation fit to run a Pemda's attendance? Each check says what
it found and, when something is missing or wrong, exactly what to do about it.

A check is `ok`, `warn` (works, but someone should look) or `fail` (fix before going into
service). The checks only read, except the database one, which writes a row and rolls it
back (a store that can be read but not written loses punches)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.config import Settings
from hub.i18n import tr

if TYPE_CHECKING:
    from sqlalchemy import Engine

OK, WARN, FAIL = "ok", "warn", "fail"
DISK_FAIL, DISK_WARN = 85.0, 75.0  # percent used
BACKUP_MAX_AGE = timedelta(hours=36)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Check:
    name: str
    status: str
    found: str
    fix: str = ""


def _missing_sqlite(url: str) -> str | None:
    """The embedded store's file when it does not exist yet (the doctor looks, it does not
    make one by connecting)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    file = make_url(url).database if url.startswith("sqlite") else None
    return file if file and not Path(file).exists() else None


def _db(settings: Settings) -> list[Check]:
    from hub.store.db import current_revision, head_revision, is_initialised, make_engine, write_probe  # noqa: PLC0415

    url = settings.effective_database_url()
    file = _missing_sqlite(url)
    if file:
        return [Check("database", FAIL, tr(f"berkas SQLite {file} belum ada", f"SQLite file {file} does not exist"),
                      tr("jalankan `hub db upgrade` (atau isi HUB_DATABASE_URL untuk PostgreSQL)",
                         "run `hub db upgrade` (or set HUB_DATABASE_URL for PostgreSQL)"))]
    engine = make_engine(url)
    out = []
    try:
        try:
            ready = is_initialised(engine)
            if ready:
                write_probe(engine, "doctor")
        except Exception as exc:  # noqa: BLE001 - the finding itself
            return [Check("database", FAIL, f"{exc.__class__.__name__}: {str(exc)[:200]}",
                          tr("periksa HUB_DATABASE_URL, apakah server basis data berjalan dan pengguna hub boleh "
                             "menulis", "check HUB_DATABASE_URL, that the database server runs and the hub's user "
                             "may write"))]
        out.append(Check("database", OK, f"{engine.dialect.name}: " + tr("terbaca dan tertulis", "readable and "
                                                                          "writable")))
        current, head = current_revision(engine) if ready else None, head_revision(url)
        if current == head:
            out.append(Check("migrations", OK, tr(f"revisi {current} (terbaru)", f"revision {current} (head)")))
        else:
            out.append(Check("migrations", FAIL, tr(f"revisi {current or '-'}, terbaru {head}",
                                                    f"revision {current or '-'}, head {head}"),
                             tr("jalankan `hub db upgrade` (mencadangkan dulu)", "run `hub db upgrade` (it backs up "
                                "first)")))
        if ready and current == head:
            out.extend(_partitions(engine))
        if engine.dialect.name == "sqlite":
            path = Path(engine.url.database or "")
            if path.exists() and path.stat().st_mode & 0o077:
                out.append(Check("database file", FAIL, tr(f"{path} dapat dibaca pengguna lain "
                                                           f"({oct(path.stat().st_mode & 0o777)})",
                                                           f"{path} is readable by other users "
                                                           f"({oct(path.stat().st_mode & 0o777)})"),
                                 f"chmod 600 {path}"))
    finally:
        engine.dispose()
    return out


def _partitions(engine: Engine) -> list[Check]:
    """PostgreSQL: next month's punches have their partition, and no month waits in the
    default partition (the nightly `partitions` job makes them)."""
    from hub.store import partitions as parts  # noqa: PLC0415

    with engine.connect() as conn:
        if not parts.is_partitioned(conn):
            return []
        held = [p for p in parts.partitions(conn) if p.month]
        strays = parts.strays(conn)
    due = sorted(parts.wanted(date.today(), strays, ahead=1) - {p.month for p in held})
    if due:
        months = ", ".join(f"{m:%Y-%m}" for m in due)
        return [Check("partitions", WARN, tr(f"partisi presensi belum dibuat untuk {months}: presensinya menunggu di "
                                             "partisi bawaan", f"no punch partition yet for {months}: its punches "
                                             "wait in the default partition"),
                      tr("jalankan `hub db partitions --ensure` (tugas malam `partitions` melakukannya bila hub run "
                         "berjalan)", "run `hub db partitions --ensure` (the nightly `partitions` job does it while "
                         "hub run runs)"))]
    last = max(p.month for p in held) if held else None
    return [Check("partitions", OK, tr(f"{len(held)} partisi bulanan hingga {last:%Y-%m}; {sum(strays.values())} "
                                       "presensi di partisi bawaan", f"{len(held)} month partitions through "
                                       f"{last:%Y-%m}; {sum(strays.values())} punches in the default partition"))]


def _key(settings: Settings) -> Check:
    if settings.secret_key:
        return Check("key", OK, tr("HUB_SECRET_KEY dari lingkungan/konfigurasi", "HUB_SECRET_KEY from the "
                                   "environment/configuration"))
    path = settings.var_path / "secret.key"
    if not path.exists():
        return Check("key", WARN, tr(f"{path} belum ada (dibuat saat pertama dipakai)", f"{path} does not exist yet "
                                     "(made on first use)"),
                     tr("buat dengan `hub secret new` atau biarkan hub membuatnya, lalu simpan salinannya di luar "
                        "mesin ini", "make one with `hub secret new` or let the hub make it, then keep a copy off "
                        "this machine"))
    st = path.stat()
    if st.st_mode & 0o077 or st.st_uid != os.getuid():
        return Check("key", FAIL, tr(f"{path}: mode {oct(st.st_mode & 0o777)}, pemilik uid {st.st_uid}",
                                     f"{path}: mode {oct(st.st_mode & 0o777)}, owner uid {st.st_uid}"),
                     f"chown {os.getuid()} {path} && chmod 600 {path}")
    return Check("key", OK, tr(f"{path}: hanya pemiliknya yang membaca", f"{path}: only its owner reads it"))


def _broker(settings: Settings) -> Check:
    m = settings.mqtt
    if not m.enabled:
        return Check("mqtt", OK, tr("MQTT tidak dipakai ([mqtt] enabled = false)", "MQTT not used ([mqtt] enabled "
                                    "= false)"))
    anonymous = _mqtt_connect(m.host, m.port, None, None, m.tls, m.tls_ca_file)
    if anonymous == 0:
        return Check("mqtt", FAIL, tr(f"broker {m.host}:{m.port} menerima klien tanpa sandi",
                                      f"broker {m.host}:{m.port} lets clients in without a password"),
                     tr("pakai config/mosquitto/hub.conf.example (allow_anonymous false, password_file, acl_file) "
                        "lalu muat ulang Mosquitto", "use config/mosquitto/hub.conf.example (allow_anonymous "
                        "false, password_file, acl_file) and reload Mosquitto"))
    if isinstance(anonymous, str):
        return Check("mqtt", FAIL, tr(f"broker {m.host}:{m.port} tidak terjangkau: {anonymous}",
                                      f"broker {m.host}:{m.port} unreachable: {anonymous}"),
                     tr("jalankan Mosquitto atau perbaiki [mqtt] host/port", "start Mosquitto or fix [mqtt] "
                        "host/port"))
    own = _mqtt_connect(m.host, m.port, m.username or None, m.password or None, m.tls, m.tls_ca_file)
    if own != 0:
        return Check("mqtt", FAIL, tr(f"broker menolak akun hub '{m.username}' ({own})",
                                      f"the broker refuses the hub's account '{m.username}' ({own})"),
                     tr("buat akunnya (`mosquitto_passwd FILE hub`) dan isi HUB_MQTT_PASSWORD",
                        "create its account (`mosquitto_passwd FILE hub`) and set HUB_MQTT_PASSWORD"))
    if not m.acl_file or not Path(m.acl_file).exists():
        return Check("mqtt", WARN, tr("sandi wajib, tetapi belum ada ACL ([mqtt] acl_file): terminal dapat menulis "
                                      "topik terminal lain", "passwords required, but no ACL ([mqtt] acl_file): a "
                                      "terminal could write another's topics"),
                     tr("isi [mqtt] acl_file dan jalankan `hub push mqtt-acl`; Mosquitto membaca berkas itu",
                        "set [mqtt] acl_file and run `hub push mqtt-acl`; Mosquitto reads that file"))
    return Check("mqtt", OK, tr("broker meminta sandi; akun hub diterima; ACL dari registri",
                                "the broker asks for passwords; the hub's account is taken; ACL from the registry"))


def _mqtt_connect(host: str, port: int, user: str | None, password: str | None, tls: bool,
                  ca: str) -> int | str:
    """The broker's CONNACK reason (0 = accepted) or what broke."""
    import paho.mqtt.client as mqtt  # noqa: PLC0415

    result: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hub-doctor-{os.getpid()}")
    client.on_connect = lambda _c, _u, _f, rc, _p=None: result.append(int(rc.value if hasattr(rc, "value") else rc))
    if user:
        client.username_pw_set(user, password)
    if tls:
        client.tls_set(ca_certs=ca or None)
    try:
        client.connect(host, port, keepalive=10)
    except OSError as exc:
        return f"{exc.__class__.__name__}: {exc}"
    deadline = time.monotonic() + 5
    while not result and time.monotonic() < deadline:
        client.loop(timeout=0.2)
    client.disconnect()
    return result[0] if result else "no CONNACK"


def _tls(settings: Settings) -> list[Check]:
    import httpx  # noqa: PLC0415

    w = settings.web
    out = []
    if not w.public_url:
        return [Check("tls", FAIL, tr("[web] public_url kosong: belum ada alamat HTTPS untuk pengguna dan ponsel",
                                      "[web] public_url is empty: no HTTPS address for users and phones"),
                      tr("pasang proxy balik dengan TLS (deploy/Caddyfile atau deploy/nginx.conf) lalu isi [web] "
                         "public_url = \"https://...\" dan trusted_proxies", "put a TLS reverse proxy in front "
                         "(deploy/Caddyfile or deploy/nginx.conf), then set [web] public_url = \"https://...\" and "
                         "trusted_proxies"))]
    if not w.public_url.startswith("https://"):
        return [Check("tls", FAIL, tr(f"public_url {w.public_url} bukan HTTPS", f"public_url {w.public_url} is not "
                                      "HTTPS"),
                      tr("kamera ponsel dan sandi butuh HTTPS: pakai proxy balik dengan TLS",
                         "phone cameras and passwords need HTTPS: use a TLS reverse proxy"))]
    try:
        r = httpx.get(w.public_url.rstrip("/") + "/healthz", timeout=5)
        ok = r.status_code == 200 and r.json().get("status") == "ok"
        found = f"{w.public_url}: HTTP {r.status_code}"
    except (httpx.HTTPError, ValueError) as exc:
        ok, found = False, f"{w.public_url}: {exc.__class__.__name__}: {str(exc)[:160]}"
    if not ok:
        out.append(Check("tls", FAIL, found, tr("periksa proxy balik, sertifikatnya dan bahwa ia meneruskan ke "
                                                f"{w.host}:{w.port}", "check the reverse proxy, its certificate "
                                                f"and that it forwards to {w.host}:{w.port}")))
    else:
        out.append(Check("tls", OK, tr(f"{found}, sertifikat sah", f"{found}, certificate valid")))
    if w.host not in LOOPBACK:
        out.append(Check("web bind", WARN, tr(f"hub mendengar di {w.host}:{w.port} tanpa TLS",
                                              f"the hub listens on {w.host}:{w.port} without TLS"),
                         tr("set [web] host = \"127.0.0.1\" di belakang proxy (terminal ADMS boleh lewat proxy)",
                            "set [web] host = \"127.0.0.1\" behind the proxy (ADMS terminals can go through it)")))
    if not w.trusted_proxies:
        out.append(Check("proxy", WARN, tr("[web] trusted_proxies kosong", "[web] trusted_proxies is empty"),
                         tr("isi alamat proxy (mis. \"127.0.0.1\") agar pembatasan login dan penyematan alamat "
                            "terminal melihat klien sebenarnya", "set the proxy's address (e.g. \"127.0.0.1\") so "
                            "login throttling and terminal address pinning see the real client")))
    return out


def _disk(settings: Settings) -> list[Check]:
    from hub.disks import usage  # noqa: PLC0415

    out = []
    for d in usage(settings):
        found = tr(f"{d.path}: {d.pct:.0f}% terpakai, {d.free_gib:.1f} GiB bebas",
                   f"{d.path}: {d.pct:.0f}% used, {d.free_gib:.1f} GiB free")
        status = FAIL if d.pct >= DISK_FAIL else WARN if d.pct >= DISK_WARN else OK
        out.append(Check(f"disk ({d.label})", status, found,
                         "" if status == OK else tr("kosongkan ruang atau pindahkan var_dir/[backup] dir ke disk "
                                                    "lain", "free space or move var_dir/[backup] dir to another "
                                                    "disk")))
    return out


def _clock() -> Check:
    fix = tr("pasang dan nyalakan sinkron waktu (systemd-timesyncd atau chrony): jam hub menilai jam terminal",
             "install and enable time sync (systemd-timesyncd or chrony): the hub's clock judges the terminals'")
    for cmd, good in ((["timedatectl", "show", "-p", "NTPSynchronized", "--value"], "yes"),
                      (["chronyc", "-n", "tracking"], "Leap status     : Normal")):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            if good in done.stdout:
                return Check("clock", OK, tr(f"tersinkron ({cmd[0]})", f"synchronised ({cmd[0]})"))
            return Check("clock", FAIL, tr(f"tidak tersinkron ({cmd[0]})", f"not synchronised ({cmd[0]})"), fix)
    if Path("/run/systemd/timesync/synchronized").exists():
        return Check("clock", OK, tr("tersinkron (systemd-timesyncd)", "synchronised (systemd-timesyncd)"))
    return Check("clock", WARN, tr("tidak dapat diketahui di mesin ini (tanpa timedatectl/chronyc)",
                                   "cannot tell on this machine (no timedatectl/chronyc)"), fix)


def _backups(settings: Settings) -> Check:
    from hub.store.backup import backups  # noqa: PLC0415

    where = settings.backup.path(settings.var_path)
    found = backups(where) if where.exists() else []
    if not found:
        return Check("backup", WARN, tr(f"belum ada cadangan di {where}", f"no backup in {where} yet"),
                     tr("jalankan `hub backup` (hub run mencadangkan tiap malam bila [backup] enabled)",
                        "run `hub backup` (hub run backs up nightly when [backup] enabled)"))
    newest = found[-1]
    age = datetime.now(UTC) - datetime.fromisoformat(newest.created_at)
    if age > BACKUP_MAX_AGE:
        return Check("backup", WARN, tr(f"cadangan terakhir {newest.file}, {age.days} hari lalu",
                                        f"last backup {newest.file}, {age.days} days ago"),
                     tr("periksa job backup (`hub jobs`) dan ruang di folder cadangan",
                        "check the backup job (`hub jobs`) and the backup folder's space"))
    return Check("backup", OK, tr(f"cadangan terakhir {newest.file} ({age.seconds // 3600} jam lalu)",
                                  f"last backup {newest.file} ({age.seconds // 3600} h ago)"))


def _user() -> Check:
    if os.getuid() == 0:
        return Check("user", WARN, tr("hub berjalan sebagai root", "the hub runs as root"),
                     tr("jalankan sebagai pengguna `hub` (deploy/hub.service)", "run it as user `hub` "
                        "(deploy/hub.service)"))
    return Check("user", OK, tr(f"uid {os.getuid()}, bukan root", f"uid {os.getuid()}, not root"))


def _reach(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"{exc.__class__.__name__}: {exc}"


def _terminals(settings: Settings) -> list[Check]:
    from sqlalchemy import select  # noqa: PLC0415

    from hub.store.db import is_initialised, make_engine  # noqa: PLC0415
    from hub.store.models import Device  # noqa: PLC0415

    url = settings.effective_database_url()
    if _missing_sqlite(url):
        return []  # (the database check says what to do)
    engine = make_engine(url)
    try:
        if not is_initialised(engine):
            return []
        with engine.connect() as conn:
            rows = conn.execute(select(Device.serial, Device.kind, Device.host, Device.port, Device.serial_line,
                                       Device.last_seen_at).where(Device.enabled.is_(True))).all()
    finally:
        engine.dispose()
    asked = [r for r in rows if r.kind in ("zk-tcp", "hik-isapi") and r.host]
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda r: _reach(r.host, r.port or (4370 if r.kind == "zk-tcp" else 80)), asked))
    down = [f"{r.serial} ({r.host}:{r.port}): {why}" for r, why in zip(asked, answers, strict=True) if why]
    down += [f"{r.serial}: {r.serial_line} " + tr("tidak ada", "missing") for r in rows
             if r.kind == "zk-serial" and r.serial_line and not Path(r.serial_line).exists()]
    day_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
    quiet = [r.serial for r in rows if r.kind in ("adms", "mqtt") and (r.last_seen_at is None
                                                                       or r.last_seen_at < day_ago)]
    out = []
    if not rows:
        return [Check("terminals", WARN, tr("belum ada terminal terdaftar", "no terminal registered yet"),
                      tr("daftarkan dengan `hub device add` atau di konsol (Terminal)", "register with `hub device "
                         "add` or in the console (Terminals)"))]
    if down:
        out.append(Check("terminals", FAIL, tr(f"{len(down)} dari {len(asked)} tidak terjangkau: ",
                                               f"{len(down)} of {len(asked)} unreachable: ") + "; ".join(down[:10]),
                         tr("periksa daya, kabel, alamat IP dan firewall (port 4370/80) terminal itu",
                            "check those terminals' power, cable, IP address and firewall (port 4370/80)")))
    else:
        out.append(Check("terminals", OK, tr(f"{len(asked)} terminal yang ditarik hub terjangkau",
                                             f"{len(asked)} terminals the hub pulls are reachable")))
    if quiet:
        out.append(Check("push terminals", WARN, tr(f"{len(quiet)} terminal push tidak mengirim 24 jam: ",
                                                    f"{len(quiet)} push terminals silent for 24 h: ")
                         + ", ".join(quiet[:10]),
                         tr("periksa alamat server di menu terminal (ADMS) atau akun MQTT-nya",
                            "check the server address in the terminal's menu (ADMS) or its MQTT account")))
    return out


def _cluster(settings: Settings) -> list[Check]:
    """Cluster mode: PostgreSQL, workers beating, no pull waiting long for a worker."""
    if not settings.cluster.enabled:
        return []
    from sqlalchemy import text  # noqa: PLC0415

    from hub.store.db import make_engine  # noqa: PLC0415

    url = settings.effective_database_url()
    if not url.startswith("postgres"):
        return [Check("cluster", FAIL, tr("mode klaster dengan SQLite", "cluster mode on SQLite"),
                      tr("isi HUB_DATABASE_URL dengan PostgreSQL atau matikan [cluster] enabled",
                         "set HUB_DATABASE_URL to PostgreSQL or turn [cluster] enabled off"))]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            alive = conn.execute(text(
                "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :s)"),
                {"s": settings.cluster.stalled_after_s}).scalar_one()
            waiting = conn.execute(text(
                "SELECT count(*) FROM procrastinate_jobs j WHERE j.status = 'todo' AND EXISTS (SELECT 1 FROM "
                "procrastinate_events e WHERE e.job_id = j.id AND e.type = 'deferred' AND e.at < now() - "
                "interval '10 minutes')")).scalar_one()
    finally:
        engine.dispose()
    if not alive:
        return [Check("cluster", FAIL, tr("tidak ada proses hub yang bekerja pada antrean", "no hub process works "
                                          "on the queue"),
                      tr("jalankan `hub run` dengan [cluster] enabled di setiap mesin", "start `hub run` with "
                         "[cluster] enabled on every machine"))]
    if waiting:
        return [Check("cluster", WARN, tr(f"{alive} proses bekerja; {waiting} tugas menunggu lebih dari 10 menit",
                                          f"{alive} processes working; {waiting} tasks waiting over 10 minutes"),
                      tr("tambah proses/mesin atau [cluster] concurrency", "add processes/machines or raise "
                         "[cluster] concurrency"))]
    return [Check("cluster", OK, tr(f"{alive} proses hub bekerja pada antrean", f"{alive} hub processes work on "
                                    "the queue"))]


CHECKS: list[Callable[[Settings], list[Check] | Check]] = [
    _db, _key, _broker, _tls, _disk, lambda _s: _clock(), _backups, lambda _s: _user(), _terminals, _cluster]


def diagnose(settings: Settings) -> list[Check]:
    out: list[Check] = []
    for check in CHECKS:
        try:
            got = check(settings)
        except Exception as exc:  # noqa: BLE001 - one check's failure is a finding, the rest still run
            got = Check(getattr(check, "__name__", "check").strip("_"), FAIL,
                        f"{exc.__class__.__name__}: {str(exc)[:200]}")
        out.extend(got if isinstance(got, list) else [got])
    return out


def as_dict(checks: list[Check]) -> dict[str, Any]:
    return {"ok": not any(c.status == FAIL for c in checks), "checks": [c.__dict__ for c in checks]}
