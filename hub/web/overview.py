"""The month across every OPD (issue 20, item 5): BPKAD and leaders see each office's
attendance rate, deductions, days still in doubt, pending corrections and lock state, with
charts drawn on the server (attendance per OPD per day, late arrivals by time of day,
terminal health). Figures come from hub.reconcile.overview, which adds up the recap."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hub import times
from hub.reconcile.errors import ReconcileError, month_bounds
from hub.reconcile.overview import MonthOverview, month_overview
from hub.store.sites import SiteTree
from hub.times import DAY_SHORT
from hub.web import charts, queries
from hub.web.auth import Principal
from hub.web.catalogue import translator
from hub.web.deps import DB, api_principal, lang_of, page_principal, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def _visible(session: Session, who: Principal) -> set[int] | None:
    if who.scope is None:
        return None
    tree = SiteTree.load(session)
    return {sid for sid in tree.children.get(None, []) if who.sees(sid)}


def overview_of(session: Session, who: Principal, month: str) -> MonthOverview:
    month_bounds(month)  # ReconcileError for a month outside the hub's years
    return month_overview(session, month, _visible(session, who))


@pages.get("/recap/overview")
def overview_page(request: Request, month: str = "", who: Principal = Depends(page_principal("review.read")),
                  session: Session = DB) -> Response:
    month = month or f"{times.local_today():%Y-%m}"  # this month, as the recap page
    t = translator(lang_of(request))
    try:
        ov = overview_of(session, who, month)
    except ReconcileError as exc:
        return render(request, "overview.html", status_code=422, month=month, error=str(exc), ov=None)
    heat = charts.heatmap([(o.name, [o.daily[d] for d in ov.days]) for o in ov.offices], ov.days,
                          t("Persentase hadir per OPD per hari"), [t(n) for n in DAY_SHORT], t("bukan hari kerja"))
    late = charts.columns(ov.late_by_time, t("Datang terlambat menurut jam"), t("hari"))
    good, bad, total = queries.terminal_days(session, ov.days)
    health = charts.stacked_days(ov.days, good, bad, total, t("Kesehatan terminal per hari"),
                                 t("terminal menjawab"), t("terminal hanya gagal"))
    return render(request, "overview.html", month=month, error=None, ov=ov, totals=ov.totals, heat=heat,
                  late=late, health=health, terminals_total=total)


class OfficeOut(BaseModel):
    code: str
    name: str
    employees: int
    attendance_pct: float
    working_days: int
    present_days: int
    late_days: int
    absent_days: int
    doubt_days: int
    pending_corrections: int
    deduction_rp: int
    tpp_ceiling_rp: int
    locked: bool
    locked_by: str | None
    daily: dict[date, float | None]


class OverviewOut(BaseModel):
    month: date
    sha256: str
    offices: list[OfficeOut]
    late_by_time: list[tuple[str, int]]


@api.get("/recap/overview", response_model=OverviewOut)
def api_overview(month: str = Query(..., pattern=MONTH), who: Principal = Depends(api_principal("review.read")),
                 session: Session = DB) -> dict:
    """Every OPD's month in figures (the user's offices only, for a user bound to offices)."""
    try:
        ov = overview_of(session, who, month)
    except ReconcileError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"month": ov.month, "sha256": ov.sha256, "late_by_time": ov.late_by_time,
            "offices": [vars(o) for o in ov.offices]}
