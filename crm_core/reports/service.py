"""Building a report of one pipeline run: the Excel workbook or the PDF executive report.

Anyone who can see the workspace may build one (``Action.VIEW``): a report reads and
aggregates, it changes nothing. The content is gathered once from SQL aggregates
(:mod:`crm_core.reports.content`), so the memory a report takes does not grow with the
number of customers.
"""

from __future__ import annotations

from pathlib import Path

from crm_core.auth import Action, Actor, require
from crm_core.charts.outcomes import funnel_figure, uplift_figure
from crm_core.charts.overview import customers_by_segment_figure
from crm_core.errors import ValidationError
from crm_core.files import write_atomically
from crm_core.outcomes.attribution import AttributionRule
from crm_core.reports.content import ReportContent, report_content
from crm_core.reports.figures import RenderedFigures, render_figures
from crm_core.reports.pdf import pdf_bytes
from crm_core.reports.workbook import workbook_bytes
from crm_core.views.outcomes import INFERRED

FORMATS = {".pdf": "pdf", ".xlsx": "xlsx"}
MIME_TYPES = {"pdf": "application/pdf",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def report_format(path: str | Path) -> str:
    """``pdf`` or ``xlsx`` from a file name's suffix.

    Raises:
        ValidationError: any other suffix (the message names the two that work).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValidationError(f"A report is written as FILE.pdf or FILE.xlsx; {Path(path).name!r} is neither.")
    return FORMATS[suffix]


def build_report(db, actor: Actor, run_id: int, fmt: str, *, rule: AttributionRule = AttributionRule(),
                 source: str = INFERRED) -> bytes:
    """The report of run ``run_id`` as the bytes of a PDF (``fmt="pdf"``) or an Excel workbook (``"xlsx"``).

    Raises:
        PermissionDenied; RunNotFound; ValidationError (an unknown format).
    """
    require(actor, Action.VIEW)
    if fmt not in MIME_TYPES:
        raise ValidationError(f"A report is a 'pdf' or an 'xlsx', not {fmt!r}.")
    content = report_content(db, run_id, rule=rule, source=source)
    if fmt == "xlsx":
        return workbook_bytes(content)
    return pdf_bytes(content, render_figures(report_figures(content)))


def write_report(db, actor: Actor, run_id: int, path: str | Path, **options) -> Path:
    """Write the report of run ``run_id`` to ``path`` (its suffix chooses PDF or Excel), all or nothing.

    Raises:
        The errors of :func:`build_report`; ValidationError when the file cannot be written.
    """
    path = Path(path)
    return write_atomically(path, build_report(db, actor, run_id, report_format(path), **options))


def report_figures(content: ReportContent) -> dict:
    """The figures of the PDF: ``segments``, ``uplift`` (one row per campaign) and ``funnel``."""
    campaigns = content.campaigns.assign(label=[f"#{i} {n}" for i, n in zip(content.campaigns["campaign_id"],
                                                                             content.campaigns["name"])])
    return {"segments": customers_by_segment_figure(content.segments),
            "uplift": uplift_figure(campaigns, title="Uplift in conversion rate by campaign (95 % interval)",
                                    label_column="label"),
            "funnel": funnel_figure(content.funnel)}


__all__ = ["FORMATS", "MIME_TYPES", "RenderedFigures", "build_report", "report_format", "write_report"]
