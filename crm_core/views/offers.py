"""The read side of a run's offers: tables, counts and filter choices for the Offers and Customer 360 pages.

Everything is set-based SQL (joins and aggregates in the database) plus
vectorised pandas; explanations are rendered from the stored code and
parameters (:func:`crm_core.recommend.explain.render_explanations`). Money
comes back in major units. A product's *family* is what the engine used:
the catalog family, else the product's most frequent transaction category
(ties: the smallest), else the product itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import and_, distinct, func, select

from crm_core.errors import NotFound
from crm_core.ids import normalise_id
from crm_core.recommend import explain
from crm_core.recommend.settings import COMPONENTS, SCENARIOS, RecommendConfig
from crm_core.segment.rfm import segment_label, segment_labels  # noqa: F401 (segment_label: for the pages)
from crm_core.store.models import Customer, Offer, PipelineRun, Product, RunCustomer
from crm_core.views.product_families import family_product_pks, product_families  # noqa: F401 (re-exported)
from crm_core.views.product_families import read_frame as _read
from crm_core.views.runs import latest_run_id  # noqa: F401 (the Offers page's run)

OFFER_VIEW_COLUMNS = [
    "offer_id", "customer_id", "rank", "product_id", "product_name", "family", "scenario", "score",
    *COMPONENTS, "match_pct", "expected_revenue", "explanation", "explanation_code", "audit_score", "gate",
    "flags", "state", "segment", "segment_label",
]
_STRING_COLUMNS = ("customer_id", "product_id", "product_name", "family", "scenario", "explanation",
                   "explanation_code", "gate", "flags", "state", "segment")
_FLOAT_COLUMNS = ("score", *COMPONENTS, "expected_revenue")

Choice = str | Iterable[str] | None
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class OfferRun:
    """What the Offers page says about the run it shows."""

    run_id: int
    workspace_id: int
    as_of: dt.date
    top_n: int
    weights: dict[str, float]  # component -> weight the run scored with (the calibrated blend's, when chosen)
    offers: int
    customers: int  # customers with at least one offer


@dataclass(frozen=True)
class OfferFilterChoices:
    """The values the filters of the offers table can take in one run (sorted)."""

    segments: tuple[str, ...]  # RFM segment codes; labels via crm_core.segment.rfm.segment_label
    scenarios: tuple[str, ...]  # in SCENARIOS order
    families: tuple[str, ...]


def offer_run(db, run_id: int) -> OfferRun:
    """The run's date, settings and offer counts.

    Raises:
        NotFound: when there is no run ``run_id``.
    """
    with db.read() as s:
        run = s.get(PipelineRun, int(run_id))
        if run is None:
            raise NotFound(f"There is no pipeline run #{run_id}: pick one of the workspace's runs "
                           "(or run the pipeline first).")
        offers, customers = s.execute(select(func.count(), func.count(distinct(Offer.customer_id)))
                                      .where(Offer.run_id == run.id)).one()
        section = dict((run.config_json or {}).get("recommend") or {})
        calibration = ((run.params_json or {}).get("offers_model") or {}).get("calibration") or {}
        workspace_id, as_of = run.workspace_id, run.as_of
    defaults = RecommendConfig()
    weights = {name: float(section.get(f"weight_{name}", defaults.weights[name])) for name in COMPONENTS}
    weights.update({k: float(v) for k, v in (calibration.get("weights") or {}).items() if k in weights})
    return OfferRun(run_id=int(run_id), workspace_id=workspace_id, as_of=as_of,
                    top_n=int(section.get("top_n", defaults.top_n)), weights=weights,
                    offers=int(offers), customers=int(customers))


def offers_frame(db, run_id: int, *, segment: Choice = None, scenario: Choice = None, family: Choice = None,
                 min_score: float | None = None, limit: int | None = None,
                 families: pd.Series | None = None) -> pd.DataFrame:
    """The offers of a run, one row per offer, best score first.

    Args:
        db: the Database.
        run_id: the pipeline run.
        segment, scenario, family: keep offers whose customer's RFM segment code /
            scenario code / product family is this value (or one of these values);
            None keeps all.
        min_score: keep offers scoring at least this (0..1).
        limit: at most this many rows (the best scores); None for all.
        families: :func:`product_families` of the run when the caller keeps it (else read here).
    Returns:
        Columns :data:`OFFER_VIEW_COLUMNS`: ``customer_id`` and ``product_id`` are the
        codes as the source gives them, ``affinity, popularity, profit, scenario_fit``
        the stored components (NaN when the component had no data), ``match_pct`` the
        score in whole per cent, ``explanation`` the rendered English sentence,
        ``segment`` the RFM segment code and ``segment_label`` its English label.
        Sorted by score (descending), then customer and rank.
    """
    if families is None and family is not None:
        families = product_families(db, run_id)
    stmt = _filtered(_offer_select(run_id), run_id, families, segment=segment, scenario=scenario,
                     family=family, min_score=min_score)
    stmt = stmt.order_by(Offer.score.desc(), Customer.customer_code, Offer.rank)
    if limit is not None:
        stmt = stmt.limit(max(int(limit), 0))
    frame = _read(db, stmt)
    if families is None:
        families = product_families(db, run_id, frame["product_pk"].unique().tolist())
    return _shape(frame, families, run_top_n(db, run_id))


def count_offers(db, run_id: int, *, segment: Choice = None, scenario: Choice = None, family: Choice = None,
                 min_score: float | None = None, families: pd.Series | None = None) -> int:
    """How many offers of the run pass the filters (same meaning as :func:`offers_frame`); a caller that
    counts often keeps :func:`crm_core.views.offer_list.offer_list` instead."""
    if families is None and family is not None:
        families = product_families(db, run_id)
    inner = _filtered(_joined(Offer.id), run_id, families, segment=segment, scenario=scenario, family=family,
                      min_score=min_score)
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def customer_offers(db, run_id: int, customer_code: str) -> pd.DataFrame:
    """One customer's offers in a run, by rank (columns as :func:`offers_frame`).

    Args:
        db: the Database.
        run_id: the pipeline run (None gives an empty frame).
        customer_code: the customer's id as the source gives it (normalised here).
    Returns:
        The customer's offers sorted by rank; empty when the customer has none.
    """
    code = normalise_id(customer_code)
    if run_id is None or code is None:
        return _shape(pd.DataFrame(columns=_RAW_COLUMNS), pd.Series(dtype="string"), 3)
    # the run's workspace too: (workspace_id, customer_code) is the unique index, so the customer is one
    # index lookup and its offers another (run_id, customer_id, rank), not a scan of the run's offers
    workspace = select(PipelineRun.workspace_id).where(PipelineRun.id == run_id).scalar_subquery()
    stmt = (_offer_select(run_id).where(Customer.workspace_id == workspace, Customer.customer_code == code)
            .order_by(Offer.rank))
    frame = _read(db, stmt)
    return _shape(frame, product_families(db, run_id, frame["product_pk"].tolist()), run_top_n(db, run_id))


def offers_matching(db, run_id: int, condition) -> pd.DataFrame:
    """The offers of a run that meet a SQL condition on the offers table, by customer and rank.

    Args:
        db: the Database.
        run_id: the pipeline run.
        condition: a SQLAlchemy condition on :class:`Offer` columns, e.g. ``Offer.state == "approved"``
            or ``Offer.id.in_(subquery)``.
    Returns:
        Columns :data:`OFFER_VIEW_COLUMNS` (as :func:`offers_frame`), sorted by customer and rank.
    """
    stmt = _offer_select(run_id).where(condition).order_by(Customer.customer_code, Offer.rank)
    frame = _read(db, stmt)
    return _shape(frame, product_families(db, run_id, frame["product_pk"].unique().tolist()), run_top_n(db, run_id))


def offer_counts(db, run_id: int) -> pd.DataFrame:
    """Offers and customers per RFM segment and scenario of a run.

    Returns:
        Columns ``segment`` (code, ``<NA>`` for customers without a segment),
        ``segment_label``, ``scenario``, ``offers`` and ``customers`` (int64); segments
        with most offers first, scenarios in SCENARIOS order.
    """
    stmt = (select(RunCustomer.rfm_segment.label("segment"), Offer.scenario.label("scenario"),
                   func.count().label("offers"), func.count(distinct(Offer.customer_id)).label("customers"))
            .select_from(Offer)
            .outerjoin(RunCustomer, and_(RunCustomer.run_id == Offer.run_id,
                                         RunCustomer.customer_id == Offer.customer_id))
            .where(Offer.run_id == run_id)
            .group_by(RunCustomer.rfm_segment, Offer.scenario))
    return counts_table(_read(db, stmt))


def counts_table(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`offer_counts`' table from one row per segment and scenario (``segment, scenario, offers, customers``)."""
    frame = frame.copy()
    frame["segment"] = frame["segment"].astype("string")
    frame["scenario"] = frame["scenario"].astype("string")
    frame["segment_label"] = segment_labels(frame["segment"])
    for col in ("offers", "customers"):
        frame[col] = frame[col].astype("int64")
    size = frame.groupby("segment", dropna=False)["offers"].transform("sum")
    order = frame["scenario"].map({s: i for i, s in enumerate(SCENARIOS)}).fillna(len(SCENARIOS))
    frame = frame.assign(_size=size, _order=order).sort_values(
        ["_size", "segment", "_order", "scenario"], ascending=[False, True, True, True], kind="mergesort",
        na_position="last")
    return frame[["segment", "segment_label", "scenario", "offers", "customers"]].reset_index(drop=True)


def offer_count_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """``segment`` (label), ``scenario`` and ``offers`` from :func:`offer_counts`: one row per segment and
    scenario, for ``crm_core.charts.offers.offers_by_scenario_figure(rows, count_column="offers")``."""
    return pd.DataFrame({"segment": counts["segment_label"].astype("string").to_numpy(),
                         "scenario": counts["scenario"].astype("string").to_numpy(),
                         "offers": counts["offers"].to_numpy(dtype="int64")})


def offer_scores(db, run_id: int, *, segment: Choice = None, scenario: Choice = None, family: Choice = None,
                 min_score: float | None = None, max_rows: int = 50_000) -> pd.DataFrame:
    """Scenario and score of the offers passing the filters, for the score distribution.

    When more than ``max_rows`` offers pass, a systematic sample (every k-th offer
    by id, so the same run always gives the same sample) of at most about
    ``max_rows`` is returned; ``attrs["sample_every"]`` says k (1: every offer).
    """
    families = product_families(db, run_id) if family is not None else None
    total = count_offers(db, run_id, segment=segment, scenario=scenario, family=family, min_score=min_score,
                         families=families)
    every = max(1, -(-total // max(int(max_rows), 1)))
    stmt = _filtered(_joined(Offer.scenario, Offer.score), run_id, families, segment=segment, scenario=scenario,
                     family=family, min_score=min_score).order_by(Offer.id)
    frame = _read(db, stmt).iloc[::every]
    out = pd.DataFrame({"scenario": frame["scenario"].astype("string").to_numpy(),
                        "score": frame["score"].astype("float64").to_numpy()})
    out.attrs["sample_every"] = every
    return out


def offer_filter_choices(db, run_id: int, *, families: pd.Series | None = None) -> OfferFilterChoices:
    """The segments, scenarios and families that occur among the run's offers (``families``: the run's
    :func:`product_families` when the caller keeps it, else read here)."""
    with db.read() as s:
        segments = s.scalars(select(RunCustomer.rfm_segment).distinct().select_from(Offer)
                             .join(RunCustomer, and_(RunCustomer.run_id == Offer.run_id,
                                                     RunCustomer.customer_id == Offer.customer_id))
                             .where(Offer.run_id == run_id, RunCustomer.rfm_segment.is_not(None))).all()
        scenarios = set(s.scalars(select(Offer.scenario).distinct().where(Offer.run_id == run_id)).all())
    families = product_families(db, run_id) if families is None else families
    return filter_choices(segments, scenarios, families)


def filter_choices(segments: Iterable[str], scenarios: Iterable[str], families: pd.Series) -> OfferFilterChoices:
    """The choices in the filters' order: segments and families sorted, scenarios in SCENARIOS order."""
    scenarios = set(scenarios)
    ordered = [x for x in SCENARIOS if x in scenarios] + sorted(scenarios - set(SCENARIOS))
    return OfferFilterChoices(segments=tuple(sorted(set(segments))), scenarios=tuple(ordered),
                              families=tuple(sorted(families.dropna().unique())))


# --------------------------------------------------------------------------- internals

_RAW_COLUMNS = ["offer_id", "customer_id", "rank", "product_pk", "product_id", "product_name", "scenario", "score",
                *COMPONENTS, "expected_revenue", "explanation_code", "explanation_params", "audit_score", "gate",
                "flags", "state", "segment"]


def _joined(*columns):
    """``columns`` from the offers joined with their customers and run customers (segments)."""
    return (select(*columns).select_from(Offer).join(Customer, Customer.id == Offer.customer_id)
            .outerjoin(RunCustomer, and_(RunCustomer.run_id == Offer.run_id,
                                         RunCustomer.customer_id == Offer.customer_id)))


def _offer_select(run_id: int):
    """Every column of the offers of a run, before filters and order."""
    return offer_columns().where(Offer.run_id == run_id)


def offer_columns():
    """Every column of :data:`OFFER_VIEW_COLUMNS` before shaping (``_RAW_COLUMNS``), of every run's offers."""
    components = [Offer.components_json[name].as_float().label(name) for name in COMPONENTS]
    return (_joined(Offer.id.label("offer_id"), Customer.customer_code.label("customer_id"), Offer.rank,
                    Offer.product_id.label("product_pk"), Product.product_code.label("product_id"),
                    Product.name.label("product_name"), Offer.scenario, Offer.score, *components,
                    Offer.expected_revenue, Offer.explanation_code,
                    Offer.explanation_params_json.label("explanation_params"), Offer.audit_score, Offer.gate,
                    Offer.flags, Offer.state, RunCustomer.rfm_segment.label("segment"))
            .join(Product, Product.id == Offer.product_id))


def choice_values(choice: Choice) -> list[str] | None:
    """A filter value as a list of strings (None: no filter)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        return [choice]
    return [str(c) for c in choice]


def _filtered(stmt, run_id: int, families: pd.Series | None, *, segment: Choice, scenario: Choice, family: Choice,
              min_score: float | None):
    """``stmt`` (offers joined with run customers) restricted to the run and the filters.

    An offer an analyst replaced by hand (``superseded``) is left out: its replacement is listed.
    """
    stmt = stmt.where(Offer.run_id == run_id, Offer.state != SUPERSEDED)
    segments = choice_values(segment)
    if segments is not None:
        stmt = stmt.where(RunCustomer.rfm_segment.in_(segments))
    scenarios = choice_values(scenario)
    if scenarios is not None:
        stmt = stmt.where(Offer.scenario.in_(scenarios))
    if min_score is not None:
        stmt = stmt.where(Offer.score >= float(min_score))
    pks = family_product_pks(families, choice_values(family))
    if pks is not None:  # one bound parameter per product (SQLite allows 32,766)
        stmt = stmt.where(Offer.product_id.in_(pks))
    return stmt


def run_top_n(db, run_id: int) -> int:
    """Offers per customer the run was configured for (3 when unknown): what explanations quote."""
    with db.read() as s:
        config = s.scalar(select(PipelineRun.config_json).where(PipelineRun.id == run_id))
    return int(((config or {}).get("recommend") or {}).get("top_n", RecommendConfig().top_n))


def _shape(frame: pd.DataFrame, families: pd.Series, top_n: int) -> pd.DataFrame:
    """Typed columns, family, match %, segment label and rendered explanation."""
    frame = frame.reset_index(drop=True)
    params = [p if isinstance(p, dict) else {} for p in frame["explanation_params"].tolist()]
    codes = frame["explanation_code"].astype(str).to_numpy(dtype=object)
    out = frame.assign(family=frame["product_pk"].map(families),
                       match_pct=np.round(pd.to_numeric(frame["score"]).to_numpy(dtype=float) * 100),
                       explanation=_explanations(codes, params, top_n))
    out = out.astype({**{c: "string" for c in _STRING_COLUMNS}, **{c: "float64" for c in _FLOAT_COLUMNS},
                      "offer_id": "int64", "rank": "int64", "match_pct": "int64", "audit_score": "Int64"})
    out["segment_label"] = segment_labels(out["segment"])
    return out[OFFER_VIEW_COLUMNS]


def _explanations(codes: np.ndarray, params: list[dict], top_n: int) -> list[str]:
    """English sentences of stored explanations (code + parameters)."""
    return explain.render_explanations(codes, params, top_n)
