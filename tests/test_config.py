"""Configuration: file, environment overrides, secrets never shown."""

from __future__ import annotations

from pathlib import Path

from hub.config import load_settings, redact_url


def test_file_then_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text('database_url = "sqlite:///a.db"\nsecret_key = "s3cret"\n'
                   '[pull]\nconcurrency = 8\n[mqtt]\npassword = "pw"\n')
    s = load_settings({"HUB_CONFIG": str(cfg), "HUB_PULL_CONCURRENCY": "64",
                       "HUB_DATABASE_URL": "postgresql://hub:topsecret@db/hub"})
    assert s.pull.concurrency == 64
    assert s.database_url == "postgresql://hub:topsecret@db/hub"
    shown = str(s.redacted())
    assert "topsecret" not in shown and "s3cret" not in shown and "'pw'" not in shown
    assert "********" in shown


def test_default_is_embedded_sqlite(tmp_path: Path) -> None:
    s = load_settings({"HUB_VAR_DIR": str(tmp_path)})
    assert s.effective_database_url() == f"sqlite:///{tmp_path / 'hub.sqlite3'}"


def test_redact_url() -> None:
    assert redact_url("postgresql://u:p@h/d") == "postgresql://u:********@h/d"
    assert redact_url("sqlite:///x") == "sqlite:///x"
