"""Configuration: a TOML file plus HUB_* environment overrides.

Lookup order for the file: $HUB_CONFIG, ./hub.toml, ./config/hub.toml. Every key can be
overridden by an environment variable named HUB_<SECTION>_<KEY> (or HUB_<KEY> for the
top-level ones), e.g. HUB_DATABASE_URL, HUB_SECRET_KEY, HUB_MQTT_HOST.
Secrets (the template/comm-key encryption key, passwords) are never printed: use
`Settings.redacted()` for display.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

SECRET_KEYS = {"secret_key", "password", "comm_key", "api_token", "smtp_password", "webhook_secret"}


@dataclass
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    client_id: str = "hub"
    enabled: bool = False
    # topics are {topic_root}/{serial}/{channel}: two hubs (or a hub and the tests) on one
    # broker each take their own root
    topic_root: str = "hub/v1/devices"
    tls: bool = False
    tls_ca_file: str = ""  # the broker's CA; empty = the system's
    tls_cert_file: str = ""  # client certificate, if the broker asks for one
    tls_key_file: str = ""
    # written by `hub push mqtt-acl` (and on approval) so the broker's ACL follows the registry
    acl_file: str = ""
    # several hubs on one broker share the terminals' messages ($share/<group>/...; MQTT 5 and
    # Mosquitto, EMQX, HiveMQ, VerneMQ); empty = "hub" in cluster mode, none otherwise
    shared_group: str = ""


@dataclass
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    session_minutes: int = 480
    # login throttling: this many failures within the window lock the account (or the
    # address, for many accounts tried from one place) for lockout_minutes, or until IT
    # lifts it (`hub user unlock`)
    login_max_failures: int = 5
    address_max_failures: int = 20
    login_window_minutes: int = 15
    lockout_minutes: int = 15
    api_token_days: int = 90  # an API token's life unless given otherwise
    metrics_token: str = ""  # lets a remote monitor read /metrics and /healthz details (else loopback only)
    max_body_bytes: int = 2 * 1024 * 1024  # forms and JSON
    upload_max_body_bytes: int = 16 * 1024 * 1024  # photo uploads (/api/face, /api/mobile)
    # reverse proxies (addresses or CIDRs, comma separated) whose X-Forwarded-For is
    # believed: terminal source pinning and login throttling see the real client
    trusted_proxies: str = ""
    # the HTTPS address users and phones reach the hub at, through its reverse proxy
    # (hub doctor checks it answers; links in messages use it)
    public_url: str = ""


@dataclass
class PullSettings:
    concurrency: int = 32
    timeout_s: float = 10.0
    retries: int = 3
    clock_tolerance_s: int = 120
    auto_sync_time: bool = True
    clear_after_pull: bool = False
    working_hours: str = "06:00-18:00"
    # Worker processes for big fleets (0 = one per core, up to 4, for 20+ terminals; 1 = off)
    processes: int = 0
    writers: int = 2  # terminals whose punches are written at once, per process
    # `hub run` keeps a live session (realtime events) to every ZK terminal; a lost one is
    # retried after 2 s, doubling up to this
    live: bool = True
    live_backoff_max_s: float = 60.0


@dataclass
class SchedulerSettings:
    enabled: bool = True
    pull_every_min: int = 5
    # Terminals are left alone while queues form at them (comma-separated HH:MM-HH:MM).
    quiet_windows: str = "07:00-08:00,15:45-16:30"
    full_pull_at: str = "01:30"
    clock_check_at: str = "05:00"
    roster_sync_at: str = "02:30"
    reconcile_at: str = "03:30"
    recap_day: int = 1
    recap_at: str = "04:30"
    # PostgreSQL: raw_punches' month partitions made ahead (hub.store.partitions)
    partitions_at: str = "00:45"
    misfire_grace_s: int = 600
    photo_check_every_min: int = 10  # terminal punch photos against enrolled faces
    leader_poll_s: float = 5.0


@dataclass
class ClusterSettings:
    """Several `hub run` processes (on several machines) sharing one PostgreSQL store: pulls
    become tasks of a PostgreSQL-backed queue (procrastinate) that every process works on."""
    enabled: bool = False
    worker_name: str = ""  # empty: host name and process id
    concurrency: int = 8  # terminals one process pulls at once
    heartbeat_s: float = 5.0
    stalled_after_s: float = 30.0  # a worker silent this long is dead: its terminals go to others

    def worker(self) -> str:
        """This process's name in the cluster (its MQTT session, its queue worker)."""
        import os  # noqa: PLC0415
        import socket  # noqa: PLC0415

        return self.worker_name or f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class AlertSettings:
    """Who hears about problems, how, and when (the rules' thresholds are here too)."""
    # e-mail (SMTP); mail_to: addresses, comma separated
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_ssl: bool = False  # implicit TLS (port 465)
    mail_from: str = "hub-absensi@localhost"
    mail_to: str = ""
    # webhook: a JSON POST per message (a Telegram/WhatsApp gateway, a chat bot); signed with
    # HMAC-SHA256 of the body in X-Hub-Signature-256 when a secret is set
    webhook_url: str = ""
    webhook_secret: str = ""
    check_every_min: int = 1
    quiet_hours: str = ""  # e.g. "21:00-06:00": nothing sent; what is still open is sent after
    digest_at: str = "07:00"  # one summary a day of what is open and what was over (empty: none)
    working_hours: str = ""  # when an offline terminal is a problem; empty = [pull] working_hours
    working_days: str = "1,2,3,4,5"  # ISO weekdays (1 = Monday)
    offline_minutes: int = 30
    pull_stale_minutes: int = 180
    capacity_pct: int = 90
    exceptions_days: int = 7
    disk_pct: int = 85
    ingest_error_minutes: int = 60


@dataclass
class BackupSettings:
    enabled: bool = True  # a nightly backup by the scheduler
    dir: str = ""  # default: <var_dir>/backups; better another disk or a mounted share
    keep: int = 14  # newest backups kept in dir
    at: str = "00:30"

    def path(self, var_path: Path) -> Path:
        return Path(self.dir) if self.dir else var_path / "backups"


@dataclass
class RecapSettings:
    pemda: str = ""  # kop surat, e.g. "Pemerintah Kabupaten Bandung Barat"
    place: str = ""  # where recaps are signed, e.g. "Ngamprah"


@dataclass
class Settings:
    database_url: str = ""
    var_dir: str = "var"
    secret_key: str = ""
    language: str = "id"
    default_timezone: str = "Asia/Jakarta"
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    web: WebSettings = field(default_factory=WebSettings)
    pull: PullSettings = field(default_factory=PullSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    recap: RecapSettings = field(default_factory=RecapSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    source: str = ""

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_path / 'hub.sqlite3').resolve()}"

    def redacted(self) -> dict[str, Any]:
        return _redact(self)


def _redact(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out[f.name] = _redact(value)
        elif f.name in SECRET_KEYS and value:
            out[f.name] = "********"
        elif f.name == "database_url" and value:
            out[f.name] = redact_url(value)
        else:
            out[f.name] = value
    return out


def redact_url(url: str) -> str:
    """Hide the password of a database URL."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":********"
    return f"{scheme}://{creds}@{host}"


def _coerce(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on", "ya"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    return raw


def _apply(obj: Any, data: dict[str, Any], prefix: str, env: dict[str, str]) -> None:
    for f in fields(obj):
        current = getattr(obj, f.name)
        if is_dataclass(current):
            _apply(current, data.get(f.name, {}) or {}, f"{prefix}{f.name.upper()}_", env)
            continue
        if f.name in data:
            setattr(obj, f.name, data[f.name])
        env_name = f"{prefix}{f.name.upper()}"
        if env_name in env:
            setattr(obj, f.name, _coerce(current, env[env_name]))


def config_path(env: dict[str, str] | None = None) -> Path | None:
    env = dict(os.environ) if env is None else env
    if env.get("HUB_CONFIG"):
        return Path(env["HUB_CONFIG"])
    for candidate in (Path("hub.toml"), Path("config/hub.toml")):
        if candidate.exists():
            return candidate
    return None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    settings = Settings()
    path = config_path(env)
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        settings.source = str(path)
    _apply(settings, data, "HUB_", env)
    return settings


def load_section(section: str, obj: Any, env: dict[str, str] | None = None) -> Any:
    """Fill the dataclass `obj` from the [section] of the same config file and from
    HUB_<SECTION>_<KEY> variables: for areas that keep their own settings beside their code."""
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    path = config_path(env)
    if path is not None and path.exists():
        with open(path, "rb") as fh:
            data = tomllib.load(fh).get(section, {}) or {}
    _apply(obj, data, f"HUB_{section.upper()}_", env)
    return obj


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def set_settings(settings: Settings | None) -> None:
    """Replace the process-wide settings (tests, CLI options)."""
    global _settings
    _settings = settings
