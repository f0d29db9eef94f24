"""One reviewer decision for many exceptions at once (the console's ticked rows and the API's
batch): each item is its own decision in its own savepoint, audited as one; an item that
cannot be decided (a locked period) is named and the others still go through. Scope is
checked for every item before anything is decided, so a batch reaching outside the
reviewer's offices changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.errors import ReconcileError
from hub.reconcile.evidence import decide_no_data, decide_punches
from hub.web import scope
from hub.web.auth import Principal

MAX_ITEMS = 500
PUNCH_ACTIONS = ("accepted", "rejected")  # held punches
DAY_ACTIONS = ("present", "absent")  # a terminal-day without data: terminal dead / working
ACTIONS = PUNCH_ACTIONS + DAY_ACTIONS


@dataclass(frozen=True)
class Item:
    """Held punches (punch_ids) or one terminal-day without data (terminal, day)."""

    punch_ids: tuple[int, ...] = ()
    terminal: str = ""
    day: date | None = None

    @property
    def is_punches(self) -> bool:
        return bool(self.punch_ids)


@dataclass
class Outcome:
    done: int = 0
    skipped: int = 0  # items the action does not apply to (accept on a terminal-day)
    refused: list[str] = field(default_factory=list)  # why each refused item was refused


def form_item(text: str) -> Item:
    """A ticked row of the exceptions page: `q|id,id,...` or `n|terminal|YYYY-MM-DD`."""
    kind, _, rest = text.partition("|")
    if kind == "q":
        ids = tuple(int(x) for x in rest.split(",") if x.strip())
        return Item(punch_ids=ids)
    if kind == "n":
        terminal, _, day = rest.rpartition("|")
        return Item(terminal=terminal, day=date.fromisoformat(day))
    raise ValueError(text)


def check(item: Item) -> None:
    if item.is_punches:
        if not all(0 < i < 2**63 for i in item.punch_ids):
            raise ValueError(tr("nomor punch di luar rentang", "punch id out of range"))
    elif not item.terminal or item.day is None:
        raise ValueError(tr("butir tanpa punch maupun terminal-hari",
                            "an item with neither punches nor a terminal-day"))


def decide_all(session: Session, who: Principal, items: list[Item], action: str, reason: str) -> Outcome:
    if action not in ACTIONS:
        raise ValueError(tr(f"tindakan '{action}' tidak dikenal", f"unknown action '{action}'"))
    for item in items:  # every item within the reviewer's offices, or nothing happens
        check(item)
        if item.is_punches:
            scope.punches(session, who, list(item.punch_ids))
        else:
            scope.terminal_key(session, who, item.terminal)
    out = Outcome()
    for item in items:
        if item.is_punches != (action in PUNCH_ACTIONS):
            out.skipped += 1
            continue
        try:
            with session.begin_nested():
                if item.is_punches:
                    decide_punches(session, list(item.punch_ids), action, reason, who.username)
                else:
                    assert item.day is not None
                    decide_no_data(session, item.terminal, item.day, action, reason, who.username)
            out.done += 1
        except ReconcileError as exc:
            out.refused.append(str(exc))
    return out
