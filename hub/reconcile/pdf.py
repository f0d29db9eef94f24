"""The recap of one office as a PDF to sign (ReportLab), and the check that a file is what
the hub issued (`hub recap verify FILE`).

Every page carries the document code: the SHA-256 of the figures (hub.reconcile.recap
.figures_hash). The PDF is rendered deterministically (ReportLab's invariant mode, no clock
read), and its metadata holds what it was rendered from (office, month, code, signing place
and date, signers). Verifying re-reads the hub's figures for that office and month, which
must still have that code, renders them again with the same parameters, and compares the
bytes: an edited copy, or a period that changed since, fails.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.i18n import tr
from hub.reconcile.errors import ReconcileError
from hub.reconcile.exports import scope_name
from hub.reconcile.period import MonthFigures, month_figures
from hub.reconcile.recap import MONTHS_ID, Column, month_label
from hub.store.models import Site

FORMAT = 1  # bump when the layout changes: older files then verify by their figures only
ALWAYS = ("hari_kerja", "hadir", "TK", "potongan_pct", "potongan_disiplin_pct", "tpp_pagu", "potongan_rp",
          "tpp_diterima")
TEXT_KEYS = ("no", "nip", "nama")
# Short headers for the narrow columns of a landscape page (the legend explains the codes).
SHORT = {"no": "No", "hari_kerja": "HK", "libur": "Libur", "cuti_bersama": "CB-sm", "off": "Off", "hadir": "Hadir",
         "menit_terlambat": "Mnt TL", "menit_pulang_cepat": "Mnt PSW", "kjk_menit": "KJK mnt",
         "persen_kehadiran": "% Hadir", "potongan_pct": "% Jml", "potongan_disiplin_pct": "% Pot.",
         "tpp_pagu": "TPP pagu", "potongan_rp": "Potongan (Rp)", "tpp_diterima": "TPP diterima",
         "TD": "TD", "TV": "TV", "TK": "TK"}


@dataclass
class Signing:
    pemda: str = ""
    place: str = ""
    on: date | None = None  # the signing date printed; default: the lock's date, else the month's end
    head_title: str = "Kepala OPD"
    head_name: str = ""
    head_nip: str = ""
    verifier_title: str = "Pengelola Kepegawaian"
    verifier_name: str = ""
    verifier_nip: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signing:
        s = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        if isinstance(s.on, str):
            s.on = date.fromisoformat(s.on)
        return s


def _fonts() -> tuple[str, str]:
    # Bitstream Vera ships with ReportLab: Latin names with diacritics, nothing to download.
    if "HubSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("HubSans", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("HubSans-Bold", "VeraBd.ttf"))
    return "HubSans", "HubSans-Bold"


def id_number(value: Any, kind: str) -> str:
    """Indonesian number formatting: 1.234.567 and 1,25."""
    if kind == "pct":
        d = Decimal(repr(round(float(value or 0), 4))).normalize()
        text = format(d, "f")
        return text.replace(".", ",")
    if isinstance(value, int | float):
        return f"{int(value):,}".replace(",", ".")
    return str(value)


def long_date(d: date) -> str:
    return f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}"


def pdf_columns(fig: MonthFigures) -> list[Column]:
    """The table's columns: identity, then every figure column that is not 0 for everyone."""
    out = [c for c in fig.columns if c.key in TEXT_KEYS]
    for c in fig.columns:
        if c.kind == "text" or c.key in TEXT_KEYS:
            continue
        if c.key in ALWAYS or any(r.get(c.key) for r in fig.rows):
            out.append(c)
    return out


@dataclass
class Rendered:
    data: bytes
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def render(fig: MonthFigures, signing: Signing | None = None) -> Rendered:
    signing = signing or Signing()
    if signing.on is None:
        signing.on = fig.lock.locked_at.date() if fig.lock is not None and fig.lock.locked_at else \
            date.fromordinal(fig.month.toordinal() + 31).replace(day=1)
    regular, bold = _fonts()
    cols = pdf_columns(fig)
    payload = {"format": FORMAT, "hub": "attendance-hub", "site": fig.site.code if fig.site else None,
               "month": f"{fig.month:%Y-%m}", "sha256": fig.sha256, "locked": fig.locked,
               "columns": [c.key for c in cols], "signing": signing.to_dict()}
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=10 * mm, bottomMargin=14 * mm, invariant=1,
                            title=f"Rekap TPP {scope_name(fig)} {month_label(fig.month)}",
                            author="attendance-hub", subject=json.dumps(payload, sort_keys=True),
                            creator="attendance-hub", producer="attendance-hub")
    small = ParagraphStyle("small", fontName=regular, fontSize=7, leading=8.5)
    head = ParagraphStyle("head", fontName=bold, fontSize=11, leading=13, alignment=1)
    sub = ParagraphStyle("sub", fontName=regular, fontSize=9, leading=11, alignment=1)
    story: list[Any] = [
        Paragraph((signing.pemda or "PEMERINTAH DAERAH").upper(), head),
        Paragraph("REKAPITULASI KEHADIRAN DAN POTONGAN TAMBAHAN PENGHASILAN PEGAWAI (TPP)", head),
        Paragraph(f"{scope_name(fig)} &mdash; Periode {month_label(fig.month)}", sub),
        Paragraph("Status: " + ("TERKUNCI (final)" if fig.locked else "DRAF &mdash; periode belum dikunci, "
                                "angka dapat berubah"), sub),
        Spacer(1, 3 * mm),
    ]
    header = [SHORT.get(c.key, c.id if c.kind == "text" else c.key) for c in cols]
    data: list[list[Any]] = [[Paragraph(h, ParagraphStyle("h", fontName=bold, fontSize=5.5, leading=6.5,
                                                           alignment=1)) for h in header]]
    for r in fig.rows:
        data.append([id_number(r.get(c.key, ""), c.kind) if c.kind != "text" else str(r.get(c.key, ""))
                     for c in cols])
    data.append(["", "", "JUMLAH", *[id_number(fig.totals[c.key], c.kind) if c.key in fig.totals else ""
                                     for c in cols[3:]]])
    widths = _widths(cols, doc.width)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 1), (-1, -1), regular, 6),
        ("FONT", (0, -1), (-1, -1), bold, 6),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)),
        ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LEFTPADDING", (0, 0), (-1, -1), 1.5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    story.append(table)
    story.append(Spacer(1, 3 * mm))
    used = {c.key for c in cols}
    legend = "; ".join(f"<b>{code}</b> {text}" + (f" ({id_number(pct, 'pct')}%)" if pct else "")
                       for code, text, _en, pct in fig.legend if code in used or code in ("H",))
    story.append(Paragraph("Keterangan: HK hari kerja efektif; KJK kekurangan jam kerja (menit); " + legend +
                           ". % Jml = jumlah (banyaknya kode x % kode); % Pot. = % Jml dibatasi batas bulanan; "
                           "potongan = pagu x % Pot. / 100, dibulatkan ke rupiah. "
                           f"Ruleset: {', '.join(fig.rulesets) or '-'}.", small))
    story.append(Spacer(1, 6 * mm))
    story.append(KeepTogether(_signature_table(signing, regular, bold, doc.width)))
    code = fig.sha256

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 6.5)
        canvas.drawString(10 * mm, 7 * mm, f"Kode dokumen: {code[:32]} {code[32:]}")
        canvas.drawRightString(landscape(A4)[0] - 10 * mm, 7 * mm,
                               f"Halaman {document.page} | periksa keaslian: hub recap verify <berkas>")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return Rendered(buf.getvalue(), payload)


def _widths(cols: list[Column], total: float) -> list[float]:
    fixed = {"no": 7 * mm, "nip": 27 * mm}
    weights = {"nama": 3.2, "rupiah": 2.2, "pct": 1.3, "minutes": 1.1, "count": 0.8}
    flex = [c for c in cols if c.key not in fixed]
    units = sum(weights.get(c.key, weights.get(c.kind, 1.0)) for c in flex)
    per = (total - sum(fixed.get(c.key, 0) for c in cols)) / units
    return [fixed.get(c.key) or per * weights.get(c.key, weights.get(c.kind, 1.0)) for c in cols]


def _signature_table(s: Signing, regular: str, bold: str, width: float) -> Table:
    on = s.on or date.today()
    blank, nip = "(.................................)", "............................."
    left = ["Diverifikasi oleh,", s.verifier_title, "", "", "", s.verifier_name or blank,
            f"NIP. {s.verifier_nip or nip}"]
    right = [f"{s.place or '................'}, {long_date(on)}", s.head_title, "", "", "", s.head_name or blank,
             f"NIP. {s.head_nip or nip}"]
    t = Table([[a, "", b] for a, b in zip(left, right, strict=True)],
              colWidths=[width * 0.35, width * 0.3, width * 0.35])
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), regular, 8), ("FONT", (0, 5), (-1, 5), bold, 8),
                           ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return t


# --- verification -------------------------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    messages: list[str]
    site: str | None = None
    month: str | None = None
    sha256: str | None = None


def payload_of(data: bytes) -> dict[str, Any] | None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        meta = PdfReader(io.BytesIO(data)).metadata
    except (PdfReadError, ValueError, OSError, KeyError, TypeError):
        return None
    subject = meta.get("/Subject") if meta else None
    try:
        payload = json.loads(str(subject)) if subject else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) and payload.get("hub") == "attendance-hub" else None


def verify(session: Session, data: bytes, *, today: date | None = None) -> Verdict:
    """Is this file a recap the hub issued, unaltered, with figures the hub still holds?"""
    payload = payload_of(data)
    if payload is None:
        return Verdict(False, [tr("bukan PDF rekap dari hub ini (metadata tidak ada atau rusak)",
                                  "not a recap PDF of this hub (metadata missing or damaged)")])
    site_code, month, code = payload.get("site"), str(payload.get("month")), str(payload.get("sha256"))
    verdict = Verdict(False, [], site_code, month, code)
    site = session.scalar(select(Site).where(Site.code == site_code)) if site_code else None
    if site_code and site is None:
        verdict.messages.append(tr(f"kantor {site_code} tidak ada di hub ini",
                                   f"office {site_code} is not in this hub"))
        return verdict
    try:
        fig = month_figures(session, month, site.id if site else None, today=today)
    except ReconcileError as exc:
        verdict.messages.append(str(exc))
        return verdict
    if fig.sha256 != code:
        verdict.messages.append(tr(
            f"angka di hub untuk {site_code or 'semua OPD'} {month} berbeda dari dokumen ini (kode {code[:16]} vs "
            f"{fig.sha256[:16]}): periode dibuka atau diubah sesudah dokumen dicetak",
            f"the hub's figures for {site_code or 'all offices'} {month} differ from this document (code "
            f"{code[:16]} vs {fig.sha256[:16]}): the period was reopened or changed after printing"))
        return verdict
    if payload.get("format") != FORMAT:
        verdict.messages.append(tr("format dokumen lama: hanya angkanya yang dapat diperiksa (cocok)",
                                   "an older document format: only its figures can be checked (they match)"))
        verdict.ok = True
        return verdict
    again = render(fig, Signing.from_dict(payload.get("signing") or {}))
    if again.data != data:
        verdict.messages.append(tr("isi berkas berbeda dari dokumen yang diterbitkan hub: berkas telah diubah",
                                   "the file's content differs from the document the hub issued: it was altered"))
        return verdict
    verdict.ok = True
    verdict.messages.append(tr(
        f"ASLI: rekap {site_code or 'semua OPD'} {month}, kode {code[:16]}, "
        f"{'terkunci' if fig.locked else 'DRAF (belum dikunci)'}",
        f"GENUINE: recap of {site_code or 'all offices'} {month}, code {code[:16]}, "
        f"{'locked' if fig.locked else 'DRAFT (not locked)'}"))
    return verdict
