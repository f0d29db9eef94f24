"""Rulesets in the store: loading (validated, versioned, audited), assigning to offices, and
resolving which ruleset judges an office's day (its own, the nearest office above, the default)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.changes import audit
from hub.reconcile.errors import ReconcileError
from hub.reconcile.models import RulesetRow, RulesetSite
from hub.reconcile.rules import BUILTIN, DAY_CODES, Ruleset, RulesetError, builtin, parse_ruleset
from hub.store.models import Employee
from hub.store.sites import SiteTree


def stored_bases(session: Session) -> Callable[[str], Ruleset | None]:
    """`base = "name"` lookup for a ruleset being loaded: the newest stored version of that
    name, else the built-in one."""
    def find(name: str) -> Ruleset | None:
        row = session.scalar(select(RulesetRow).where(RulesetRow.name == name)
                             .order_by(RulesetRow.version.desc()).limit(1))
        if row is not None:
            return parse_ruleset(row.content, f"rulesets#{row.id} ({row.name}@{row.version})", find)
        return builtin(name) if name in BUILTIN else None
    return find


def load_ruleset(session: Session, text: str, *, source: str = "ruleset", actor: str = "system",
                 site_ids: Iterable[int | None] = ()) -> tuple[RulesetRow, Ruleset]:
    """Store a ruleset file (validated) and optionally assign it to sites (None = default).
    Returns the row and the parsed ruleset (its `warnings` list what it inherited)."""
    rs = parse_ruleset(text, source, stored_bases(session))
    row = session.scalar(select(RulesetRow).where(RulesetRow.name == rs.name,
                                                  RulesetRow.version == rs.version))
    if row is not None and row.content != text:
        raise ReconcileError(tr(f"ruleset {rs.label} sudah ada dengan isi lain; naikkan 'version'",
                                f"ruleset {rs.label} exists with other content; raise 'version'"))
    if row is None:
        row = RulesetRow(name=rs.name, version=rs.version, valid_from=rs.valid_from,
                         valid_to=rs.valid_to, content=text, loaded_by=actor)
        session.add(row)
        session.flush()
        audit(session, actor, "ruleset.load", "ruleset", row.id, name=rs.name, version=rs.version,
               source=source, warnings=list(rs.warnings))
    for site_id in site_ids:
        assign_ruleset(session, rs.name, site_id, actor=actor)
    return row, rs


def assign_ruleset(session: Session, name: str, site_id: int | None, *, actor: str = "system") -> None:
    if session.scalar(select(RulesetRow.id).where(RulesetRow.name == name).limit(1)) is None:
        raise ReconcileError(tr(f"ruleset '{name}' belum dimuat; jalankan `hub ruleset load`",
                                f"ruleset '{name}' is not loaded; run `hub ruleset load`"))
    exists = session.scalar(select(RulesetSite).where(
        RulesetSite.ruleset_name == name,
        RulesetSite.site_id.is_(None) if site_id is None else RulesetSite.site_id == site_id))
    if exists is None:
        session.add(RulesetSite(site_id=site_id, ruleset_name=name))
        audit(session, actor, "ruleset.assign", "ruleset", name, site_id=site_id)


class RulesResolver:
    """(site, day) -> the ruleset in force: the site's own, else the nearest office above
    it with one, else the default, else the built-in one."""

    def __init__(self, session: Session, tree: SiteTree | None = None):
        self.tree = tree or SiteTree.load(session)
        self.rows: dict[str, list[tuple[Ruleset, date, int]]] = {}
        bases = stored_bases(session)
        for row in session.scalars(select(RulesetRow)):
            try:
                rs = parse_ruleset(row.content, f"rulesets#{row.id} ({row.name}@{row.version})", bases)
            except RulesetError as exc:
                raise ReconcileError(tr(
                    f"{exc}. Ruleset tersimpan ini tidak lolos pemeriksaan hub versi ini: perbaiki berkasnya, "
                    "naikkan 'version', lalu `hub ruleset load`",
                    f"{exc}. This stored ruleset fails this hub version's checks: fix the file, raise "
                    "'version', then `hub ruleset load`")) from None
            self.rows.setdefault(row.name, []).append((rs, row.valid_from, row.version))
        self.by_site: dict[int | None, list[str]] = {}
        for a in session.scalars(select(RulesetSite).order_by(RulesetSite.id)):
            self.by_site.setdefault(a.site_id, []).append(a.ruleset_name)
        self.cache: dict[tuple[int | None, date], Ruleset] = {}

    def all(self) -> list[Ruleset]:
        """Every ruleset a day could be judged by (stored ones and the built-in default)."""
        return [builtin(), *(rs for rows in self.rows.values() for rs, _, _ in rows)]

    def _find(self, names: list[str], day: date) -> Ruleset | None:
        best = None
        for name in names:
            for rs, valid_from, version in self.rows.get(name, ()):
                if rs.covers(day) and (best is None or (valid_from, version) > best[0]):
                    best = ((valid_from, version), rs)
        return best[1] if best else None

    def __call__(self, site_id: int | None, day: date) -> Ruleset:
        key = (site_id, day)
        rs = self.cache.get(key)
        if rs is None:
            for sid in self.tree.ancestors(site_id):
                if sid in self.by_site:
                    rs = self._find(self.by_site[sid], day)
                    if rs is not None:
                        break
            rs = rs or self._find(self.by_site.get(None, []), day) or builtin()
            self.cache[key] = rs
        return rs


def valid_status_codes(rs: Ruleset | None = None) -> tuple[str, ...]:
    rs = rs or builtin()
    return ("H", "TK", *DAY_CODES, *rs.leave)


def rules_of(session: Session, employee: Employee, day: date) -> Ruleset:
    """The ruleset an employee's day is judged by (their office's, their employment type's)."""
    return RulesResolver(session)(employee.site_id, day).for_type(employee.employment_type)
