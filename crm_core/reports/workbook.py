"""The Excel report: one sheet per subject, numbers as numbers, text as text, native Excel charts.

Written by :func:`crm_core.formula_safety.write_workbook`, so no cell (a campaign's name
included) can run as a formula, and the charts are Excel's own (openpyxl.chart), drawn
from the sheet's cells: they stay live when a reader sorts or edits the figures.
"""

from __future__ import annotations

import pandas as pd

from crm_core.formula_safety import SheetChart, write_workbook
from crm_core.reports.content import ReportContent

SHEETS = ("Summary", "Segments", "Offers", "Campaigns", "Funnel", "Quality", "Audit")
CAMPAIGN_COLUMNS = {
    "campaign_id": "campaign_id", "name": "campaign", "treatment_customers": "treated customers",
    "treatment_conversions": "treated conversions", "treatment_rate": "treated conversion rate",
    "control_customers": "holdout customers", "control_conversions": "holdout conversions",
    "control_rate": "holdout conversion rate", "uplift_points": "uplift (rate difference)",
    "uplift_low": "uplift 95% low", "uplift_high": "uplift 95% high", "relative_uplift": "relative uplift",
    "treatment_revenue_per_customer": "treated revenue per customer",
    "control_revenue_per_customer": "holdout revenue per customer", "revenue_uplift": "revenue uplift per customer",
    "revenue_low": "revenue uplift 95% low", "revenue_high": "revenue uplift 95% high",
    "needed_per_group": "customers needed per group", "verdict": "verdict",
}


def workbook_bytes(content: ReportContent) -> bytes:
    """The report as the bytes of an .xlsx file (sheets :data:`SHEETS`)."""
    sheets = report_sheets(content)
    charts = {
        "Segments": [SheetChart("Customers by segment", "label", ("customers",), kind="barh", x_title="Segment")],
        "Offers": [SheetChart("Offers by scenario and audit verdict", "scenario", ("PASS", "REVIEW", "BLOCK"),
                              y_title="Offers")],
        "Campaigns": [SheetChart("Conversion rate: treated against held out", "campaign",
                                 ("treated conversion rate", "holdout conversion rate"), y_title="Conversion rate")],
        "Funnel": [SheetChart("From proposed offers to conversions", "stage", ("customers",), y_title="Customers")],
        "Audit": [SheetChart("Audit events by action", "action", ("events",), kind="barh")],
    }
    return write_workbook(sheets, charts=charts)


def report_sheets(content: ReportContent) -> dict[str, pd.DataFrame]:
    """The frames of the workbook's sheets, in order."""
    summary = pd.DataFrame(
        [("Key figures", label, value) for label, value in content.kpis]
        + [("Parameters", name, value) for name, value in content.parameters],
        columns=["section", "item", "value"])
    summary = pd.concat([pd.DataFrame([("Report", "Title", content.title)], columns=summary.columns), summary],
                        ignore_index=True)
    campaigns = content.campaigns.rename(columns=CAMPAIGN_COLUMNS)
    campaigns = campaigns[[c for c in CAMPAIGN_COLUMNS.values() if c in campaigns.columns]]
    return {"Summary": summary, "Segments": content.segments.copy(), "Offers": offers_by_scenario(content.offers),
            "Campaigns": campaigns, "Funnel": content.funnel.copy(), "Quality": content.quality.copy(),
            "Audit": content.audit.copy()}


def offers_by_scenario(offers: pd.DataFrame) -> pd.DataFrame:
    """Offers per scenario: in all, per audit verdict (PASS, REVIEW, BLOCK) and per review state."""
    columns = ["scenario", "offers", "PASS", "REVIEW", "BLOCK", "pending", "approved", "rejected", "flagged",
               "exported"]
    if offers.empty:
        return pd.DataFrame({c: pd.Series(dtype="string" if c == "scenario" else "int64") for c in columns})
    gates = offers.pivot_table(index="scenario", columns="gate", values="offers", aggfunc="sum", fill_value=0)
    states = offers.pivot_table(index="scenario", columns="state", values="offers", aggfunc="sum", fill_value=0)
    table = pd.concat([offers.groupby("scenario")["offers"].sum(), gates, states], axis=1).fillna(0)
    table = table.reindex(columns=columns[1:], fill_value=0).astype("int64")
    table = table.sort_values("offers", ascending=False, kind="mergesort")
    return table.reset_index(names="scenario").astype({"scenario": "string"})
