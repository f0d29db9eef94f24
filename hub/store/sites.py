"""The office tree (OPD -> bidang/UPTD/sekolah ...), read once: ancestors, subtrees, the OPD
an office belongs to, and what an office inherits from the ones above it (go-live)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.models import Site


class SiteTree:
    def __init__(self, sites: list[Site]):
        self.by_id = {s.id: s for s in sites}
        self.children: dict[int | None, list[int]] = {}
        for s in sites:
            parent = s.parent_id if s.parent_id in self.by_id else None
            self.children.setdefault(parent, []).append(s.id)

    @classmethod
    def load(cls, session: Session) -> SiteTree:
        return cls(list(session.scalars(select(Site))))

    def ancestors(self, site_id: int | None) -> Iterator[int]:
        """The site itself, then its parent, up to its OPD (a loop in the data stops it)."""
        seen: set[int] = set()
        cur = site_id
        while cur is not None and cur in self.by_id and cur not in seen:
            seen.add(cur)
            yield cur
            cur = self.by_id[cur].parent_id

    def subtree(self, site_id: int) -> list[int]:
        """The site and every unit below it."""
        out, todo, seen = [], [site_id], set()
        while todo:
            cur = todo.pop()
            if cur in seen or cur not in self.by_id:
                continue
            seen.add(cur)
            out.append(cur)
            todo.extend(self.children.get(cur, ()))
        return out

    def opd(self, site_id: int | None) -> Site | None:
        """The top-level office (OPD) of a unit."""
        top = None
        for sid in self.ancestors(site_id):
            top = self.by_id[sid]
        return top

    def go_live(self, site_id: int | None) -> date | None:
        """The office's own go-live date, else the nearest one above it."""
        for sid in self.ancestors(site_id):
            if self.by_id[sid].go_live is not None:
                return self.by_id[sid].go_live
        return None
