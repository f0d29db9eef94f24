"""Charts drawn on the server as SVG: no script, no library from a CDN (the console runs on
closed intranets), presentation attributes only (the console's CSP allows no inline style).
Each chart carries a <title> per mark, so a pointer or a screen reader gets the figure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from markupsafe import Markup

GREY = "#e4e7ec"


def _rate_colour(pct: float | None) -> str:
    """Red (low) through amber to green (high); grey for no working day."""
    if pct is None:
        return GREY
    if pct >= 95:
        return "#1a7f37"
    if pct >= 90:
        return "#4cae4f"
    if pct >= 80:
        return "#d4a72c"
    if pct >= 70:
        return "#e36209"
    return "#cf222e"


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" '
                  f'class="chart">' + "".join(body) + "</svg>")


def heatmap(rows: Sequence[tuple[str, Sequence[float | None]]], days: Sequence[date], label: str,
            day_names: Sequence[str], no_work: str = "bukan hari kerja") -> Markup:
    """One row per office, one cell per day, coloured by the share present (%); `day_names`
    Monday first, in the reader's language."""
    name_w, cell, top = 170, 21, 30
    width, height = name_w + cell * len(days) + 10, top + cell * len(rows) + 10
    out = []
    for i, d in enumerate(days):
        x = name_w + i * cell
        weekend = d.weekday() >= 5
        out.append(f'<text x="{x + cell / 2}" y="12" font-size="8" text-anchor="middle" '
                   f'fill="{"#888" if weekend else "#333"}">{escape(day_names[d.weekday()])}</text>')
        out.append(f'<text x="{x + cell / 2}" y="24" font-size="9" text-anchor="middle" fill="#333">{d.day}</text>')
    for j, (name, values) in enumerate(rows):
        y = top + j * cell
        out.append(f'<text x="{name_w - 6}" y="{y + cell - 5}" font-size="11" text-anchor="end" fill="#222">'
                   f'{escape(name[:26])}</text>')
        for i, v in enumerate(values):
            tip = f"{escape(name)}, {days[i]:%d-%m}: " + (no_work if v is None else f"{v:.1f}%")
            out.append(f'<rect x="{name_w + i * cell + 1}" y="{y + 1}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="{_rate_colour(v)}"><title>{tip}</title></rect>')
    return _svg(width, height, out, label)


def columns(values: Sequence[tuple[str, int]], label: str, unit: str = "") -> Markup:
    """Vertical bars with their labels below (e.g. late check-ins per quarter hour)."""
    if not values:
        return _svg(300, 40, ['<text x="10" y="25" font-size="12" fill="#555">—</text>'], label)
    bar, gap, chart_h, bottom, left = 26, 6, 140, 34, 34
    top_value = max(v for _, v in values) or 1
    width = left + len(values) * (bar + gap) + 10
    out = [f'<line x1="{left}" y1="{chart_h + 10}" x2="{width - 5}" y2="{chart_h + 10}" stroke="#999"/>',
           f'<text x="{left - 4}" y="16" font-size="10" text-anchor="end" fill="#555">{top_value}</text>']
    for i, (name, v) in enumerate(values):
        h = round(chart_h * v / top_value)
        x = left + i * (bar + gap)
        out.append(f'<rect x="{x}" y="{chart_h + 10 - h}" width="{bar}" height="{h}" fill="#0969da">'
                   f'<title>{escape(name)}: {v} {escape(unit)}</title></rect>')
        out.append(f'<text x="{x + bar / 2}" y="{chart_h + 24}" font-size="9" text-anchor="middle" fill="#333">'
                   f'{escape(name)}</text>')
        if v:
            out.append(f'<text x="{x + bar / 2}" y="{chart_h + 6 - h}" font-size="9" text-anchor="middle" '
                       f'fill="#333">{v}</text>')
    return _svg(width, chart_h + bottom, out, label)


def stacked_days(days: Sequence[date], good: Sequence[int], bad: Sequence[int], total: int, label: str,
                 good_word: str, bad_word: str) -> Markup:
    """Per day, how many of `total` did well (green) and badly (red); the rest grey."""
    bar, gap, chart_h, left = 16, 3, 120, 30
    width = left + len(days) * (bar + gap) + 10
    total = max(total, 1)
    out = [f'<text x="{left - 4}" y="14" font-size="10" text-anchor="end" fill="#555">{total}</text>',
           f'<line x1="{left}" y1="{chart_h + 10}" x2="{width - 5}" y2="{chart_h + 10}" stroke="#999"/>']
    for i, d in enumerate(days):
        x = left + i * (bar + gap)
        g = round(chart_h * min(good[i], total) / total)
        b = round(chart_h * min(bad[i], total - min(good[i], total)) / total)
        base = chart_h + 10
        out.append(f'<rect x="{x}" y="10" width="{bar}" height="{chart_h}" fill="{GREY}"/>')
        out.append(f'<rect x="{x}" y="{base - g}" width="{bar}" height="{g}" fill="#1a7f37">'
                   f'<title>{d:%d-%m}: {good[i]} {escape(good_word)}</title></rect>')
        if b:
            out.append(f'<rect x="{x}" y="{base - g - b}" width="{bar}" height="{b}" fill="#cf222e">'
                       f'<title>{d:%d-%m}: {bad[i]} {escape(bad_word)}</title></rect>')
        out.append(f'<text x="{x + bar / 2}" y="{chart_h + 22}" font-size="9" text-anchor="middle" '
                   f'fill="{"#888" if d.weekday() >= 5 else "#333"}">{d.day}</text>')
    return _svg(width, chart_h + 28, out, label)
