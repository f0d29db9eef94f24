"""Production install (issue 22, item 1): the systemd unit's own command lines run under its
user and settings, and `hub doctor` on that fresh install names each missing piece; after
following its advice (migrate, a broker with passwords, a TLS proxy in front, a terminal,
a backup) it passes. The container image is built where a container engine runs."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.proc_helpers import ROOT, free_port, stop, wait_http
from tests.push_fixtures import make_tls

UNIT = ROOT / "deploy" / "hub.service"


def unit_service() -> dict[str, list[str]]:
    """The [Service] section of the unit: key -> values (Environment= may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_the_unit_is_valid_and_hardened(tmp_path: Path) -> None:
    svc = unit_service()
    assert svc["User"] == ["hub"] and svc["NoNewPrivileges"] == ["yes"] and svc["ProtectSystem"] == ["strict"]
    assert svc["UMask"] == ["0077"] and svc["CapabilityBoundingSet"] == [""]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not on this machine (systemd package); the unit's command line is "
                    "still run by the next test")
    copy = tmp_path / "hub.service"  # (the binary where this checkout has it)
    copy.write_text(UNIT.read_text().replace("/opt/hub/.venv/bin/hub", str(ROOT / ".venv" / "bin" / "hub")))
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    sec = subprocess.run([analyze, "security", "--offline=yes", str(copy)], capture_output=True, text=True,
                         check=False)
    level = re.search(r"Overall exposure level for hub.service: ([0-9.]+)", sec.stdout)
    assert level and float(level.group(1)) < 4.0, sec.stdout[-600:]  # "OK" on systemd's own scale


class TlsProxy:
    """The TLS reverse proxy in front of the hub (what Caddy/nginx do): TLS in, plain TCP to
    the hub's port."""

    def __init__(self, cert: str, key: str, upstream: int) -> None:
        self.port, self.upstream = free_port(), upstream
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            finally:
                w.close()

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream)
            await asyncio.gather(pipe(r, uw), pipe(ur, w), return_exceptions=True)

        async def main() -> None:
            self.server = await asyncio.start_server(handle, "127.0.0.1", self.port, ssl=self.ctx)
            self.ready.set()
            await self.server.serve_forever()

        asyncio.set_event_loop(self.loop)
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):  # (closed by close())
            self.loop.run_until_complete(main())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)


@pytest.fixture
def service_user() -> Iterator[str]:
    if os.getuid() != 0:
        pytest.skip("running the unit as its user needs root (CI runs as root)")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not on this machine")
    try:
        pwd.getpwnam("hub")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "hub"], check=True)
    yield "hub"


def test_a_fresh_install_run_by_the_unit_and_the_doctor(service_user: str) -> None:
    svc = unit_service()
    user = pwd.getpwnam(service_user)
    base = Path(tempfile.mkdtemp(prefix="hub-install-", dir="/tmp"))
    try:
        _fresh_install(svc, user, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _fresh_install(svc: dict[str, list[str]], user: pwd.struct_passwd, base: Path) -> None:
    from hub.simulator.zk.server import start_in_thread
    from hub.simulator.zk.terminal import Terminal

    var, etc = base / "var-lib-hub", base / "etc-hub"
    for d in (var, etc):
        d.mkdir(mode=0o700)
        os.chown(d, user.pw_uid, user.pw_gid)
    os.chmod(base, 0o755)
    hub_bin = _service_venv(base, user)
    paths = {"/opt/hub/.venv/bin/hub": hub_bin, "/var/lib/hub": str(var), "/etc/hub": str(etc)}

    def mapped(value: str) -> str:
        for a, b in paths.items():
            value = value.replace(a, b)
        return value

    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(var)}
    for item in svc.get("Environment", []):
        k, _, v = item.partition("=")
        env[k] = mapped(v)
    web_port, mqtt_port = free_port(), free_port()
    config = Path(env["HUB_CONFIG"])
    ca, cert, key = make_tls(base)  # the proxy's certificate, and the CA the machine trusts

    def write_config(**extra: str) -> None:
        lines = [f'var_dir = "{var}"', "[web]", f"port = {web_port}", *[f'{k} = "{v}"' for k, v in extra.items()],
                 "[mqtt]", "enabled = true", f"port = {mqtt_port}", 'username = "hub"', 'password = "hub-Sandi-1"',
                 f'acl_file = "{var / "hub.acl"}"', "[scheduler]", "enabled = false"]
        config.write_text("\n".join(lines) + "\n")
        os.chown(config, user.pw_uid, user.pw_gid)

    def as_unit(cmd: str, **kw) -> subprocess.Popen:  # type: ignore[no-untyped-def]
        groups = [g for g in svc.get("SupplementaryGroups", []) if _group_exists(g)]
        return subprocess.Popen(mapped(cmd).split(), user=user.pw_uid, group=user.pw_gid, extra_groups=groups,
                                umask=int(svc["UMask"][0], 8), cwd=mapped(svc["WorkingDirectory"][0]),
                                env={**env, "SSL_CERT_FILE": ca}, **kw)

    def doctor() -> tuple[int, dict[str, dict]]:
        p = as_unit(f"{hub_bin} doctor --json", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=120)
        assert out.strip(), err
        return p.returncode, {c["name"]: c for c in json.loads(out)["checks"]}

    def anonymous_broker(auth: bool) -> subprocess.Popen:
        conf = base / "mosquitto.conf"
        text = f"per_listener_settings false\nuser root\nlistener {mqtt_port} 127.0.0.1\n"
        if auth:
            pw = base / "passwd"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw), "hub", "hub-Sandi-1"], check=True,
                           capture_output=True)
            text += f"allow_anonymous false\npassword_file {pw}\n"
        else:
            text += "allow_anonymous true\n"
        conf.write_text(text)
        proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", mqtt_port), timeout=0.5):
                    return proc
            except OSError:
                time.sleep(0.1)
        raise AssertionError("mosquitto did not start")

    # --- 1. as installed: nothing set up yet --------------------------------------------
    write_config()
    broker = anonymous_broker(auth=False)
    hub_run = proxy = sim = None
    try:
        code, found = doctor()
        assert code == 1
        assert found["database"]["status"] == "fail" and "hub db upgrade" in found["database"]["fix"]
        assert found["mqtt"]["status"] == "fail" and "allow_anonymous" in found["mqtt"]["fix"]
        assert found["tls"]["status"] == "fail" and "public_url" in found["tls"]["fix"]
        assert found["key"]["status"] == "warn" and found["backup"]["status"] == "warn"
        assert found["user"]["status"] == "ok"  # the unit's user, not root

        # --- 2. follow the advice ----------------------------------------------------------
        stop(broker)
        broker = anonymous_broker(auth=True)
        pre = as_unit(svc["ExecStartPre"][0])  # hub db upgrade
        assert pre.wait(120) == 0
        hub_run = as_unit(svc["ExecStart"][0], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{web_port}/healthz", proc=hub_run)
        status = Path(f"/proc/{hub_run.pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{user.pw_uid}\s", status, re.M), status  # runs as the unit's user
        proxy = TlsProxy(cert, key, web_port)
        write_config(public_url=f"https://127.0.0.1:{proxy.port}", trusted_proxies="127.0.0.1")
        trust = ssl.create_default_context(cafile=ca)
        r = httpx.get(f"https://127.0.0.1:{proxy.port}/healthz", verify=trust, timeout=10)
        assert r.status_code == 200
        code, found = doctor()
        assert found["tls"]["status"] == "ok" and found["mqtt"]["status"] == "warn"  # (no ACL written yet)
        assert found["terminals"]["status"] == "warn"  # none registered
        # a terminal registered at an address where nothing answers: named, with what to check
        term = Terminal.create(base / "t.sqlite3", "tft", serial="DOC0001")
        port = free_port()
        add = as_unit(f"{hub_bin} device add DOC0001 --kind zk-tcp --host 127.0.0.1 --port {port}")
        assert add.wait(60) == 0
        code, found = doctor()
        assert found["terminals"]["status"] == "fail" and "DOC0001" in found["terminals"]["found"]
        sim = start_in_thread(term, port=port)
        for step in ("push mqtt-acl", "backup"):  # (the doctor's advice, as the unit's user)
            assert as_unit(f"{hub_bin} {step}", stdout=subprocess.DEVNULL).wait(120) == 0, step

        # --- 3. it passes ------------------------------------------------------------------
        code, found = doctor()
        failed = {n: c for n, c in found.items() if c["status"] == "fail"}
        disk_full = {n for n, c in failed.items() if n.startswith("disk")}  # (this machine's disk, not the hub)
        assert set(failed) == disk_full, failed
        assert code == (1 if disk_full else 0)
        for name in ("database", "migrations", "key", "mqtt", "tls", "terminals", "backup", "user"):
            assert found[name]["status"] == "ok", found[name]
        # what the service made is its own: the store and the key are not readable by others
        for made in (var / "hub.sqlite3", var / "secret.key"):
            st = made.stat()
            assert st.st_uid == user.pw_uid and st.st_mode & 0o077 == 0, (made, oct(st.st_mode))
        assert stop(hub_run, signal.SIGTERM, timeout=float(svc["TimeoutStopSec"][0])) == 0  # a clean stop
    finally:
        for p in (hub_run, broker):
            if p is not None:
                stop(p)
        if proxy is not None:
            proxy.close()
        if sim is not None:
            sim.stop()


def _service_venv(base: Path, user: pwd.struct_passwd) -> str:
    """/opt/hub/.venv for the service user. This checkout's venv, when its interpreter is one
    the user may run; else (a Python under root's home, as on this machine) a venv of the
    system's Python 3.11 reading the checkout's installed packages, as a server's venv is."""
    python = Path(os.path.realpath(ROOT / ".venv" / "bin" / "python"))
    if all(p.stat().st_mode & 0o001 for p in python.parents) and python.stat().st_mode & 0o001:
        return str(ROOT / ".venv" / "bin" / "hub")
    system = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    if system is None:
        pytest.skip(f"{python} is not reachable by user {user.pw_name} and there is no system python3.11")
    venv = base / "opt-hub" / ".venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"
    [own] = list((venv / "lib").glob("python3.*/site-packages"))
    (own / "checkout.pth").write_text(f"import site; site.addsitedir({str(site)!r})\n")
    script = venv / "bin" / "hub"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom hub.cli.main import main\nsys.exit(main())\n")
    script.chmod(0o755)
    os.chmod(base / "opt-hub", 0o755)
    return str(script)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def test_the_container_image_builds(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    engine_up = docker is not None and subprocess.run([docker, "info"], capture_output=True,
                                                      check=False).returncode == 0
    if not engine_up:
        pytest.skip("no container engine runs on this machine (`docker info` fails); the unit's command line "
                    "is run under its user instead (test_a_fresh_install_run_by_the_unit_and_the_doctor)")
    tag = f"hub-test:{os.getpid()}"
    subprocess.run([docker, "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    try:
        done = subprocess.run([docker, "run", "--rm", "--entrypoint", "hub", tag, "--help"], capture_output=True,
                              text=True, check=False, timeout=120)
        assert done.returncode == 0 and "doctor" in done.stdout
        who = subprocess.run([docker, "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True,
                             text=True, check=False, timeout=60)
        assert who.stdout.strip() != "0"
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True, check=False)
