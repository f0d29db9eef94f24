"""Work a CLI command hands to the running hub, when there is one (hub.tasks.requests):
`hub run` holds the terminals' sessions, so a command typed in another shell asks it
instead of opening a second session to each terminal."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from hub.cli.common import cli_actor, console
from hub.config import get_settings
from hub.i18n import tr


def hub_running() -> bool:
    """`hub run` holds the terminals' sessions: ask it to do the work (no second session)."""
    from hub.tasks.requests import leader_running

    if not leader_running(get_settings()):
        return False
    console.print(tr("`hub run` sedang berjalan: pekerjaan ini dikerjakan olehnya, lewat sesi terminal yang "
                     "ia pegang.", "`hub run` is running: it does this work, over the terminal sessions it holds."))
    return True


def via_hub(eng, targets, action: str, full: bool = False, on_done=None,  # noqa: ANN001
            params: dict | None = None) -> list[dict] | None:
    """The results, in the order of `targets` (anything with an `id` of its device), or
    None when the hub did not take the work up (the caller then does it itself)."""
    from hub.tasks.requests import submit, wait

    ids = submit(eng, [t.id for t in targets], action, cli_actor(), full, params)
    out = wait(eng, ids, on_done=on_done)
    if out is None:
        console.print(tr("[yellow]`hub run` tidak mengambil permintaan dalam 20 detik; dikerjakan langsung.[/]",
                         "[yellow]`hub run` did not take the request within 20 s; doing it directly.[/]"))
    return out


T = TypeVar("T")


def rebuild(cls: type[T], answer: dict[str, Any], **override: Any) -> T:
    """The result dataclass the work would have returned here, from the hub's JSON answer."""
    from hub.messages import render  # noqa: PLC0415

    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # a message the hub kept by its code is shown in this shell's language
    def shown(v: Any) -> Any:
        return render(v) if isinstance(v, str) else [shown(x) for x in v] if isinstance(v, list) else v

    return cls(**{k: shown(v) for k, v in answer.items() if k in known and k not in override}, **override)
