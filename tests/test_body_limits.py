"""Bodies are bounded while they stream, before authentication (issue 21, items 3 and 5):
an oversized anonymous body is refused 413 without being read whole; an oversized ADMS
push is refused 413 so the terminal keeps its data (never "OK" and dropped), an unknown
terminal is held for approval whatever its body, and the terminal's next normal push is
stored whole. Over real HTTP (uvicorn)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select

from hub.adapters.adms.router import MAX_BODY
from hub.push.models import PushRegistration
from hub.store.models import IngestRun
from hub.web.app import create_app
from tests.push_fixtures import AdmsServer, add_push_devices, count_punches
from tests.web_fixtures import WebEnv, free_port, web_env  # noqa: F401

BIG = 67 * 1024 * 1024


@pytest.fixture
def console(web_env: WebEnv) -> Iterator[str]:  # noqa: F811
    server = uvicorn.Server(uvicorn.Config(create_app(web_env.settings), host="127.0.0.1", port=free_port(),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def test_an_anonymous_50_mb_body_is_refused_before_it_is_read(console: str) -> None:
    with httpx.Client(base_url=console, timeout=30) as c:
        r = c.post("/api/corrections", content=b"{" + b" " * (50 * 1024 * 1024) + b"}",
                   headers={"content-type": "application/json"})
        assert r.status_code == 413 and "2097152" in r.text
        # without a declared length (chunked), it is cut off as it streams

        def chunks() -> Iterator[bytes]:
            for _ in range(64):
                yield b" " * (1024 * 1024)

        r = c.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413
        # a normal request still goes through to the authentication it deserves
        assert c.post("/api/corrections", json={}).status_code == 401


@pytest.fixture
def adms(engine: Engine) -> Iterator[httpx.Client]:
    srv = AdmsServer(engine, resend_after=timedelta(seconds=1)).start()
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        yield c
    srv.stop()


def test_a_67_mb_adms_push_is_refused_and_the_next_one_is_stored_whole(engine: Engine, adms: httpx.Client) -> None:
    add_push_devices(engine, "adms", ["BIGPUSH1"])
    line = "0101\t2026-11-20 07:01:02\t0\t15\t0\t0\t0\n"
    huge = line.encode() * (BIG // len(line) + 1)
    assert len(huge) > MAX_BODY
    r = adms.post("/iclock/cdata", params={"SN": "BIGPUSH1", "table": "ATTLOG", "Stamp": "9"}, content=huge)
    assert r.status_code == 413 and "OK" not in r.text  # the terminal keeps the batch
    assert count_punches(engine) == 0
    with engine.connect() as conn:
        assert conn.scalar(select(IngestRun.id)) is None  # nothing recorded as received
    # the terminal then sends what it holds in batches its firmware can be set to
    body = "".join(f"{1000 + i}\t2026-11-20 07:{i % 60:02d}:00\t0\t15\t0\t0\t0\n" for i in range(500))
    r = adms.post("/iclock/cdata", params={"SN": "BIGPUSH1", "table": "ATTLOG", "Stamp": "10"}, content=body)
    assert r.status_code == 200 and r.text == "OK: 500"
    assert count_punches(engine) == 500


def test_an_unknown_terminal_is_held_whatever_its_body(engine: Engine, adms: httpx.Client) -> None:
    r = adms.post("/iclock/cdata", params={"SN": "STRANGER9", "table": "ATTLOG", "Stamp": "1"},
                  content=b"x" * (MAX_BODY + 10))
    assert r.status_code == 413
    with engine.connect() as conn:
        assert conn.scalar(select(PushRegistration.serial).where(PushRegistration.serial == "STRANGER9"))
