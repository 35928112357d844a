"""The PDF executive report: key figures, quality, segments, campaign uplift with intervals, parameters.

Built with reportlab's page layout (platypus); its text is real text (a reader can search
and copy it). Charts are PNG images from :mod:`crm_core.reports.figures`; when none could
be drawn the report says so where they would be. Every text that came from a user or a
file (workspace and campaign names) is escaped before reportlab reads its markup, so a
name like ``<link href=...>`` is printed, never followed. The file is written in
reportlab's invariant mode: the same content and images give the same bytes.
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from crm_core.reports.content import ReportContent
from crm_core.reports.figures import RenderedFigures

FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
BOLD_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",)
ACCENT = "#1f6f8b"


def pdf_bytes(content: ReportContent, figures: RenderedFigures) -> bytes:
    """The report as the bytes of a PDF (A4).

    Args:
        content: what the report says.
        figures: the images ``segments``, ``uplift`` and ``funnel`` (any of them may be missing),
            or why there are none.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.8 * cm,
                            bottomMargin=1.8 * cm, title=content.title, author="NextBest", creator="NextBest",
                            invariant=1)
    story = _story(content, figures, doc.width)
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def _story(content: ReportContent, figures: RenderedFigures, width: float) -> list:
    from reportlab.platypus import Paragraph, Spacer

    s = _styles()
    story = [Paragraph(_t(content.title), s["title"]),
             Paragraph(_t(f"Workspace {content.workspace.name} · currency {content.workspace.currency} · "
                          f"quality level {content.quality_level}"), s["muted"]), Spacer(1, 8),
             Paragraph("Key figures", s["h2"]), _table([(label, _value(v)) for label, v in content.kpis], width, s),
             Paragraph("Quality", s["h2"]), Paragraph(_quality_sentence(content), s["body"]),
             Paragraph("Customers by segment", s["h2"]), *_figure(figures, "segments", width, s),
             _table([("Segment", "Customers", "Share", f"Net value ({content.workspace.currency})")]
                    + [(r.label, _value(r.customers), f"{r.share:.1%}", _value(round(r.net_value, 2)))
                       for r in content.segments.itertuples(index=False)], width, s, header=True),
             Paragraph("Campaign uplift", s["h2"]), *_campaigns(content, figures, width, s),
             Paragraph("From proposed offers to conversions", s["h2"]), *_figure(figures, "funnel", width, s),
             _table([("Step", "Customers")] + [(r.stage, _value(r.customers))
                                               for r in content.funnel.itertuples(index=False)], width, s,
                    header=True),
             Paragraph("Run parameters", s["h2"]),
             _table([(name, _value(v)) for name, v in content.parameters], width, s)]
    return story


def _campaigns(content: ReportContent, figures: RenderedFigures, width: float, s: dict) -> list:
    from reportlab.platypus import Paragraph, Spacer

    if content.campaigns.empty:
        return [Paragraph("No campaign of this run has been exported yet: there is no uplift to report.", s["body"])]
    out = [*_figure(figures, "uplift", width, s)]
    for row in content.campaigns.itertuples(index=False):
        out.append(Paragraph(_t(f"#{row.campaign_id} {row.name}"), s["h3"]))
        out.append(Paragraph(_t(
            f"Treated: {row.treatment_conversions:,} of {row.treatment_customers:,} converted "
            f"({_pct(row.treatment_rate)}); holdout: {row.control_conversions:,} of {row.control_customers:,} "
            f"({_pct(row.control_rate)}). Uplift {_points(row.uplift_points)} points, 95 % interval "
            f"{_points(row.uplift_low)} to {_points(row.uplift_high)}."
            + (f" Revenue per customer {_money(row.treatment_revenue_per_customer)} against "
               f"{_money(row.control_revenue_per_customer)} (difference 95 % interval "
               f"{_money(row.revenue_low)} to {_money(row.revenue_high)})."
               if not _missing(row.revenue_uplift) else "")), s["body"]))
        out.append(Paragraph(_t(f"Verdict: {row.verdict}"), s["verdict"]))
        out.append(Spacer(1, 4))
    return out


def _figure(figures: RenderedFigures, name: str, width: float, s: dict) -> list:
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, Paragraph

    png = figures.images.get(name)
    if png is None:
        reason = figures.unavailable or "Charts are unavailable."
        return [Paragraph(_t(reason), s["muted"])]
    w, h = ImageReader(io.BytesIO(png)).getSize()
    return [Image(io.BytesIO(png), width=width, height=width * h / w)]


def _table(rows: list[tuple], width: float, s: dict, *, header: bool = False):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    cells = [[Paragraph(_t(str(v)), s["cell_bold"] if header and i == 0 else s["cell"]) for v in row]
             for i, row in enumerate(rows)]
    columns = len(rows[0]) if rows else 1
    first = width * (0.45 if columns == 2 else 0.34)
    table = Table(cells, colWidths=[first] + [(width - first) / max(columns - 1, 1)] * (columns - 1), repeatRows=1
                  if header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8d3d9")),
             ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eef2")))
    table.setStyle(TableStyle(style))
    return table


def _quality_sentence(content: ReportContent) -> str:
    metrics = dict(zip(content.quality["metric"], content.quality["value"]))
    parts = [f"{label} {_pct(metrics[key])}" for key, label in
             (("coverage", "coverage"), ("high_score_share", "customers with a high audit score"),
              ("error_rate", "offers with an error flag")) if metrics.get(key) is not None]
    text = f"Quality level {content.quality_level}"
    return _t(text + (": " + ", ".join(parts) if parts else "") + ".")


@functools.lru_cache(maxsize=1)
def _styles() -> dict:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    regular, bold = _fonts()
    base = getSampleStyleSheet()
    accent = colors.HexColor(ACCENT)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=bold, fontSize=17, leading=21,
                                textColor=accent),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=bold, fontSize=13, spaceBefore=10,
                             textColor=accent),
        "h3": ParagraphStyle("h3", parent=base["Heading3"], fontName=bold, fontSize=10.5, spaceBefore=6),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontName=regular, fontSize=9.5, leading=13),
        "verdict": ParagraphStyle("verdict", parent=base["BodyText"], fontName=bold, fontSize=9.5, leading=13),
        "muted": ParagraphStyle("muted", parent=base["BodyText"], fontName=regular, fontSize=9,
                                textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontName=regular, fontSize=8.5, leading=10.5),
        "cell_bold": ParagraphStyle("cell_bold", parent=base["BodyText"], fontName=bold, fontSize=8.5, leading=10.5),
    }


@functools.lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """A Unicode TrueType font (DejaVu Sans, else reportlab's own Vera): the minus sign and accents print."""
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    shipped = Path(reportlab.__file__).parent / "fonts"
    regular = next((p for p in FONT_CANDIDATES if Path(p).exists()), str(shipped / "Vera.ttf"))
    bold = next((p for p in BOLD_CANDIDATES if Path(p).exists()), str(shipped / "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont("ReportSans", regular))
    pdfmetrics.registerFont(TTFont("ReportSans-Bold", bold))
    return "ReportSans", "ReportSans-Bold"


def _footer(canvas, doc) -> None:
    regular, _ = _fonts()
    canvas.saveState()
    canvas.setFont(regular, 8)
    canvas.setFillGray(0.4)
    canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, doc.bottomMargin / 2, f"Page {doc.page}")
    canvas.drawString(doc.leftMargin, doc.bottomMargin / 2, "NextBest")
    canvas.restoreState()


def _t(text: str) -> str:
    """Text for a reportlab Paragraph: its markup characters escaped, so it prints as written."""
    return escape(str(text))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _value(value) -> str:
    if _missing(value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _pct(value) -> str:
    return "–" if _missing(value) else f"{float(value):.1%}"


def _points(value) -> str:
    if _missing(value):
        return "–"
    text = f"{abs(float(value)) * 100:.1f}"
    return text if text == "0.0" else ("+" if value > 0 else "\u2212") + text


def _money(value) -> str:
    return "–" if _missing(value) else f"{float(value):,.2f}"
