"""Messages the hub keeps are codes with parameters, rendered in the reader's language when
shown (issue 18): a pull that failed while the hub spoke Indonesian reads in English on an
English console, and the other way round; plain text from older rows is shown as it is."""

from __future__ import annotations

import pickle
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import messages
from hub.adapters.zk.coordinator import Puller, load_targets
from hub.config import get_settings
from hub.fleet import status
from hub.messages import CATALOG, Msg, msg, render, stored
from hub.store.models import Device, IngestRun
from tests.zk_fixtures import fast_settings, make_terminal

__all__ = ["make_terminal"]


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_every_message_has_both_languages_with_the_same_parameters(code: str) -> None:
    id_text, en_text = CATALOG[code]
    assert id_text and en_text and id_text != en_text
    assert _fields(id_text) == _fields(en_text)


def test_a_message_is_its_words_now_and_its_code_when_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_LANGUAGE", "id")
    m = msg("pull.comm_failed", detail="timed out")
    assert m == "gagal berkomunikasi: timed out" and isinstance(m, str)
    kept = stored(m)
    assert kept is not None and kept.startswith(messages.PREFIX) and "gagal" not in kept
    assert render(kept, "en") == "communication failed: timed out"
    assert render(kept, "id") == "gagal berkomunikasi: timed out"
    monkeypatch.setenv("HUB_LANGUAGE", "en")
    assert render(kept) == "communication failed: timed out"  # the CLI's language
    back = pickle.loads(pickle.dumps(m))  # across the pull's worker processes
    assert isinstance(back, Msg) and back.code == "pull.comm_failed" and stored(back) == kept


def test_plain_and_damaged_text_is_shown_as_kept() -> None:
    assert render("terminal said no", "en") == "terminal said no"
    assert stored("terminal said no") == "terminal said no"
    assert render(None) == "" and stored(None) is None
    broken = stored(msg("sync.terminal_full", cap=3000))[:-3]  # type: ignore[index]
    assert render(broken, "en") == broken
    unknown = messages.PREFIX + '{"c": "no.such", "p": {}}'
    assert render(unknown, "id") == unknown
    with pytest.raises(KeyError):
        msg("no.such")


def test_a_long_parameter_is_cut_so_the_kept_message_stays_whole() -> None:
    kept = stored(msg("pull.comm_failed", detail="x" * 10_000))
    assert kept is not None and len(kept) < 2000 and render(kept, "en").startswith("communication failed: xxx")


@given(st.text())
def test_render_never_fails(text: str) -> None:
    assert isinstance(render(text, "en"), str)
    assert isinstance(render(messages.PREFIX + text, "id"), str)


def test_a_failed_pull_reads_in_the_console_language(engine, make_terminal, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("HUB_LANGUAGE", "id")
    sim = make_terminal("tft", records=5)
    sim.faults.refuse = True
    [res] = Puller(engine, fast_settings(retries=0)).pull_many(load_targets(engine))
    assert res.error and res.error.startswith("gagal berkomunikasi")  # the CLI prints it as is
    with Session(engine) as s:
        last_error = s.scalar(select(Device.last_error).where(Device.id == sim.device_id))
        run_error = s.scalar(select(IngestRun.error).where(IngestRun.device_id == sim.device_id))
        assert last_error.startswith(messages.PREFIX) and run_error.startswith(messages.PREFIX)
        assert render(run_error, "en").startswith("communication failed")
        rows = {r["id"]: r for r in status.fleet(s, get_settings(), lang="en")}
        assert rows[sim.device_id]["last_error"].startswith("communication failed")
        rows = {r["id"]: r for r in status.fleet(s, get_settings(), lang="id")}
        assert rows[sim.device_id]["last_error"].startswith("gagal berkomunikasi")
