"""The tables users download (CSV and Excel): a run's customers, its segment summary, its offers, a comparison.

Each download is a :class:`DownloadTable`: its headers (money columns name the workspace's currency:
``Net total (GBP)``) and a function that reads its rows in chunks. :func:`csv_file` and
:func:`xlsx_file` write the chunks one after the other through :mod:`crm_core.formula_safety`
(no cell can run as a formula; numbers, dates and booleans keep their types), so a million
customers are never held in Python at once: the database streams its rows
(``stream_results``) :data:`CHUNK_ROWS` at a time, and openpyxl's write-only workbook keeps
each written row on disk. Only the finished file is held in memory (as bytes, for the download
button). Nothing here writes to the database. Measured on the 2-core machine, a run of 969,817
customers (21 columns): CSV 41 s and 114 MB, Excel 324 s (openpyxl) and 78 MB, the process at
548 MB peak.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select

from crm_core.errors import ValidationError
from crm_core.formula_safety import neutralise_formulas, write_workbook
from crm_core.recommend import explain
from crm_core.recommend.settings import COMPONENTS
from crm_core.segment.rfm import segment_catalog, segment_labels
from crm_core.segment.settings import SEGMENT_CODES
from crm_core.store.frames import minor_factor
from crm_core.store.models import Customer, Offer, Product, RunCluster, RunCustomer, Workspace
from crm_core.views.offers import family_product_pks, product_families, run_top_n
from crm_core.views.run_comparison import RunComparisonView
from crm_core.views.runs import get_run

CHUNK_ROWS = 50_000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
NO_CURRENCY = "XXX"


@dataclass(frozen=True)
class DownloadTable:
    """One table to download: a file name, its headers and its rows, read in chunks.

    Attributes:
        name: the file name without suffix (letters, digits, ``-`` and ``_`` only).
        sheet: the Excel sheet's title.
        columns: the headers, in order (each chunk has exactly these columns).
        chunks: called once per file written; yields frames of at most :data:`CHUNK_ROWS` rows.
        rows: how many rows the chunks hold (None when unknown): an Excel file is refused up front
            when they cannot fit in one sheet.
    """

    name: str
    sheet: str
    columns: tuple[str, ...]
    chunks: Callable[[], Iterator[pd.DataFrame]]
    rows: int | None = None

    def frame(self) -> pd.DataFrame:
        """Every row at once: for small tables and tests (a big one belongs in :func:`csv_file`)."""
        parts = list(self.chunks())
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(self.columns))


def table_of(frame: pd.DataFrame, *, name: str, sheet: str | None = None) -> DownloadTable:
    """A frame already in memory (a small table: a summary, a comparison) as a :class:`DownloadTable`."""
    frame = frame.reset_index(drop=True)
    return DownloadTable(file_stem(name), sheet or name, tuple(str(c) for c in frame.columns), lambda: iter([frame]),
                         len(frame))


def file_stem(name: str) -> str:
    """A file name a download can carry: letters, digits, ``-`` and ``_``; other runs of characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")[:120] or "download"


def money_header(label: str, currency: str) -> str:
    """``Net total (GBP)``; plain ``Net total`` for a workspace without a currency (XXX)."""
    code = (currency or "").upper()
    return label if code in ("", NO_CURRENCY) else f"{label} ({code})"


def csv_file(table: DownloadTable) -> bytes:
    """The table as UTF-8 CSV (no BOM, ``\\n`` line ends), written chunk by chunk, formula-safe."""
    out = io.BytesIO()
    header = True
    for chunk in table.chunks():
        out.write(neutralise_formulas(chunk).to_csv(index=False, header=header, lineterminator="\n").encode("utf-8"))
        header = False
    if header:  # no rows: the header alone
        out.write(neutralise_formulas(pd.DataFrame(columns=list(table.columns))).to_csv(
            index=False, lineterminator="\n").encode("utf-8"))
    return out.getvalue()


def xlsx_file(table: DownloadTable) -> bytes:
    """The table as one Excel sheet, written chunk by chunk (every text cell typed as text).

    Raises:
        ValidationError: more rows than an Excel sheet holds (the CSV has no limit).
    """
    if table.rows is not None and table.rows > XLSX_MAX_ROWS:
        raise _too_many(table)
    return write_workbook({table.sheet: _StreamedSheet(table)})


def _too_many(table: DownloadTable) -> ValidationError:
    return ValidationError(f"{table.name} has more than {XLSX_MAX_ROWS:,} rows, more than an Excel sheet holds: "
                           "download it as CSV.")


class _StreamedSheet:
    """What :func:`crm_core.formula_safety.write_workbook` reads of a frame (``columns``, ``itertuples``), chunked."""

    def __init__(self, table: DownloadTable):
        self.columns, self._table = list(table.columns), table

    def itertuples(self, index: bool = False, name=None):
        rows = 0
        for chunk in self._table.chunks():
            rows += len(chunk)
            if rows > XLSX_MAX_ROWS:  # a table that did not know its size
                raise _too_many(self._table)
            yield from chunk.itertuples(index=index, name=name)


# --------------------------------------------------------------------------- a run's customers

CUSTOMER_HEADERS = ("Customer", "First name", "Last name", "Region", "City", "Segment code", "Segment", "R", "F", "M",
                    "Cluster", "Persona", "First purchase", "Last purchase", "Days since last purchase", "Orders")


def customers_download(db, run_id: int) -> DownloadTable:
    """Every customer of a run with segment, scores, cluster, persona, value and churn risk, by customer id.

    Money (net total, CLV) is in the workspace's currency, rounded to its decimals; dates are dates.
    Raises:
        RunNotFound.
    """
    run = get_run(db, run_id)
    currency, decimals = _currency(db, run.workspace_id)
    rc, c, cl = RunCustomer, Customer, RunCluster
    stmt = (select(c.customer_code, c.first_name, c.last_name, c.region, c.city, rc.rfm_segment, rc.r_score,
                   rc.f_score, rc.m_score, rc.cluster, cl.persona_name, rc.first_purchase, rc.last_purchase,
                   rc.recency_days, rc.frequency, rc.monetary_minor, rc.expected_purchases, rc.clv, rc.p_alive,
                   rc.churn_risk)
            .join(c, c.id == rc.customer_id)
            .outerjoin(cl, and_(cl.run_id == rc.run_id, cl.cluster == rc.cluster))
            .where(rc.run_id == run.id).order_by(c.customer_code))
    headers = (*CUSTOMER_HEADERS, money_header("Net total", currency), "Expected purchases",
               money_header("CLV", currency), "P(alive)", "Churn risk")

    def chunks() -> Iterator[pd.DataFrame]:
        factor = 10 ** decimals
        for raw in _streamed(db, stmt):
            raw.columns = ["code", "first", "last", "region", "city", "segment", "r", "f", "m", "cluster", "persona",
                           "first_purchase", "last_purchase", "recency", "frequency", "monetary", "expected", "clv",
                           "p_alive", "churn"]
            values = [raw["code"], raw["first"], raw["last"], raw["region"], raw["city"], raw["segment"],
                      segment_labels(raw["segment"].astype("string")).where(raw["segment"].notna()),
                      *(_ints(raw[k]) for k in ("r", "f", "m", "cluster")), raw["persona"],
                      _dates(raw["first_purchase"]), _dates(raw["last_purchase"]), _ints(raw["recency"]),
                      _ints(raw["frequency"]), (_floats(raw["monetary"]) / factor).round(decimals),
                      _floats(raw["expected"]).round(4), _floats(raw["clv"]).round(decimals),
                      _floats(raw["p_alive"]).round(4), raw["churn"]]
            yield pd.DataFrame(dict(zip(headers, (_plain(v) for v in values))))

    return DownloadTable(file_stem(f"customers_run{run.id}"), "Customers", headers, chunks, _count(db, stmt))


# --------------------------------------------------------------------------- segment -> action summary

SUMMARY_COLUMNS = ["segment", "label", "action", "customers", "share", "revenue", "mean_clv"]


def segment_summary(db, run_id: int) -> pd.DataFrame:
    """Each RFM segment of a run with its suggested action, customers, revenue and mean CLV (one GROUP BY).

    Returns:
        Columns :data:`SUMMARY_COLUMNS`: ``segment`` (code), ``label``, ``action`` (what to do with these
        customers), ``customers`` (int64), ``share`` of the run's customers, ``revenue`` (net total, major
        units) and ``mean_clv`` (NaN when the value model was not fitted); in the canonical segment order,
        segments without customers left out.
    Raises:
        RunNotFound.
    """
    run = get_run(db, run_id)
    rc = RunCustomer
    with db.read() as s:
        factor = minor_factor(s, run.workspace_id)
        rows = s.execute(select(rc.rfm_segment, func.count(), func.coalesce(func.sum(rc.monetary_minor), 0),
                                func.avg(rc.clv)).where(rc.run_id == run.id).group_by(rc.rfm_segment)).all()
    raw = pd.DataFrame(rows, columns=["segment", "customers", "revenue_minor", "mean_clv"])
    catalog = segment_catalog()  # indexed by segment code
    order = {code: i for i, code in enumerate(SEGMENT_CODES)}
    raw = raw.assign(_order=raw["segment"].map(order).fillna(len(order))).sort_values(["_order", "segment"])
    total = int(raw["customers"].sum())
    out = pd.DataFrame({
        "segment": raw["segment"].astype("string").to_numpy(),
        "label": segment_labels(raw["segment"].astype("string")).to_numpy(),
        "action": raw["segment"].map(catalog["action"]).astype("string").to_numpy(),
        "customers": raw["customers"].astype("int64").to_numpy(),
        "share": (raw["customers"] / total if total else raw["customers"] * 0.0).astype("float64").to_numpy(),
        "revenue": (raw["revenue_minor"].astype("float64") / factor).to_numpy(),
        "mean_clv": pd.to_numeric(raw["mean_clv"]).astype("float64").to_numpy(),
    })
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def segment_summary_download(db, run_id: int) -> DownloadTable:
    """:func:`segment_summary` with readable headers, money in the workspace's currency."""
    run = get_run(db, run_id)
    currency, decimals = _currency(db, run.workspace_id)
    summary = segment_summary(db, run_id)
    frame = pd.DataFrame({"Segment code": summary["segment"], "Segment": summary["label"],
                          "Suggested action": summary["action"], "Customers": summary["customers"],
                          "Share of customers": summary["share"].round(4),
                          money_header("Revenue", currency): summary["revenue"].round(decimals),
                          money_header("Mean CLV", currency): summary["mean_clv"].round(decimals)})
    return table_of(frame, name=f"segments_run{run.id}", sheet="Segments")


# --------------------------------------------------------------------------- the filtered offers

OFFER_HEADERS = ("Customer", "Rank", "Product", "Product name", "Family", "Scenario", "Match %", "Score",
                 *(name.replace("_", " ").capitalize() for name in COMPONENTS))


def offers_download_frame(db, run_id: int, *, segment=None, scenario=None, family=None,
                          min_score: float | None = None) -> DownloadTable:
    """The offers of a run the Offers page's filters keep, best score first, read in chunks.

    Args:
        db: the Database.
        run_id: the pipeline run.
        segment, scenario, family, min_score: the filters of
            :func:`crm_core.views.offers.offers_frame`, with the same meaning (None keeps all).
    Returns:
        A :class:`DownloadTable` with the offers in the order of ``offers_frame`` (score, customer, rank):
        customer and product ids, family, scenario, match %, score and its components, expected revenue in
        the workspace's currency, the explanation as the page shows it, audit score, gate, flags, state and
        segment.
    Raises:
        RunNotFound.
    """
    run = get_run(db, run_id)
    currency, decimals = _currency(db, run.workspace_id)
    families = product_families(db, run.id)
    top_n = run_top_n(db, run.id)
    components = [Offer.components_json[name].as_float().label(name) for name in COMPONENTS]
    stmt = (select(Customer.customer_code, Offer.rank, Product.product_code, Product.name, Offer.product_id,
                   Offer.scenario, Offer.score, *components, Offer.expected_revenue, Offer.explanation_code,
                   Offer.explanation_params_json, Offer.audit_score, Offer.gate, Offer.flags, Offer.state,
                   RunCustomer.rfm_segment)
            .select_from(Offer).join(Customer, Customer.id == Offer.customer_id)
            .join(Product, Product.id == Offer.product_id)
            .outerjoin(RunCustomer, and_(RunCustomer.run_id == Offer.run_id,
                                         RunCustomer.customer_id == Offer.customer_id))
            .where(Offer.run_id == run.id))
    for column, wanted in ((RunCustomer.rfm_segment, segment), (Offer.scenario, scenario)):
        if wanted is not None:
            stmt = stmt.where(column.in_([wanted] if isinstance(wanted, str) else [str(w) for w in wanted]))
    if min_score is not None:
        stmt = stmt.where(Offer.score >= float(min_score))
    pks = family_product_pks(families, None if family is None else [family] if isinstance(family, str)
                             else [str(f) for f in family])
    if pks is not None:
        stmt = stmt.where(Offer.product_id.in_(pks))
    stmt = stmt.order_by(Offer.score.desc(), Customer.customer_code, Offer.rank)
    headers = (*OFFER_HEADERS, money_header("Expected revenue", currency), "Explanation", "Audit score", "Gate",
               "Flags", "State", "Segment")

    def chunks() -> Iterator[pd.DataFrame]:
        for raw in _streamed(db, stmt):
            score = _floats(raw["score"])
            params = [p if isinstance(p, dict) else {} for p in raw["explanation_params_json"]]
            values = [raw["customer_code"], _ints(raw["rank"]), raw["product_code"], raw["name"],
                      raw["product_id"].map(families), raw["scenario"], _ints((score * 100).round()), score.round(6),
                      *(_floats(raw[name]).round(6) for name in COMPONENTS),
                      _floats(raw["expected_revenue"]).round(decimals),
                      pd.Series(explain.render_explanations(raw["explanation_code"].astype(str).to_numpy(dtype=object),
                                                            params, top_n)),
                      _ints(raw["audit_score"]), raw["gate"], raw["flags"], raw["state"],
                      segment_labels(raw["rfm_segment"].astype("string")).where(raw["rfm_segment"].notna())]
            yield pd.DataFrame(dict(zip(headers, (_plain(v) for v in values))))

    return DownloadTable(file_stem(f"offers_run{run.id}"), "Offers", headers, chunks, _count(db, stmt))


# --------------------------------------------------------------------------- the run comparison


def migration_download(view: RunComparisonView) -> DownloadTable:
    """The migration matrix: one row per segment before, one column per segment after (customer counts)."""
    table = view.migration_table()
    frame = table.rename_axis(f"Run #{view.before.id} \\ run #{view.after.id}").reset_index()
    frame.columns = [str(c) for c in frame.columns]
    return table_of(frame, name=f"migration_run{view.before.id}_to_run{view.after.id}", sheet="Migration")


def slipped_download(view: RunComparisonView, currency: str) -> DownloadTable:
    """The valuable customers who slipped, with the value of both runs in the workspace's currency."""
    s = view.slipped
    frame = pd.DataFrame({"Customer": s["customer_id"], "Name": s["name"], "Segment before": s["segment_before"],
                          "Segment after": s["segment_after"]})
    for col, label in (("monetary", "Net total"), ("clv", "CLV")):
        for when in ("before", "after"):
            frame[money_header(f"{label} {when}", currency)] = pd.to_numeric(s[f"{col}_{when}"]).astype("float64")
    for when in ("before", "after"):
        frame[f"Churn risk {when}"] = s[f"churn_risk_{when}"]
    return table_of(frame, name=f"slipped_run{view.before.id}_to_run{view.after.id}", sheet="Slipped")


# --------------------------------------------------------------------------- helpers


def _currency(db, workspace_id: int) -> tuple[str, int]:
    with db.read() as s:
        ws = s.get(Workspace, workspace_id)
        return (ws.currency, int(ws.currency_decimals)) if ws else (NO_CURRENCY, 2)


def _count(db, stmt) -> int:
    """How many rows ``stmt`` gives (one COUNT in the database)."""
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def _streamed(db, stmt) -> Iterator[pd.DataFrame]:
    """The rows of ``stmt``, :data:`CHUNK_ROWS` at a time, from a server-side cursor (never all at once)."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(stream_results=True, max_row_buffer=CHUNK_ROWS)
        result = conn.execute(stmt)
        keys = list(result.keys())
        while rows := result.fetchmany(CHUNK_ROWS):
            columns = list(zip(*rows))  # column by column: pandas is slow at rows of Row objects
            yield pd.DataFrame({key: pd.Series(values, dtype=object) for key, values in zip(keys, columns)})


def _ints(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values).astype("Int64")


def _floats(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values).astype("float64")


def _dates(values: pd.Series) -> pd.Series:
    """Calendar dates (Excel shows them as dates, CSV as YYYY-MM-DD)."""
    return pd.to_datetime(values).dt.date


def _plain(values) -> np.ndarray | pd.Series:
    """Text columns as plain strings with None for missing (what both writers expect)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_string_dtype(series) or series.dtype == object:
        return series.astype(object).where(series.notna(), None).reset_index(drop=True)
    return series.reset_index(drop=True)

