"""The pure part of a pipeline run: frames in, frames out (no database).

features -> RFM segments, clusters and value -> offers (calibrated on the
shop's own last window, then scored) -> the audit gate, each stage timed.
:func:`crm_core.services.pipeline.run_pipeline` reads the inputs from the
store and stores what this returns.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from crm_core.config import Config
from crm_core.features import customer_features
from crm_core.gate import Policy, gate_offers, offer_facts, run_quality, summarise_history
from crm_core.gate.codes import day_number
from crm_core.holdings import held_on
from crm_core.memory import release_freed
from crm_core.recommend.calibration import calibrate, calibration_budget
from crm_core.recommend.engine import code_sales, prepare_coded, sales_catalog
from crm_core.segment import segment_customers


def compute_run(inputs: dict, *, as_of: dt.date, contact_date: dt.date, config: Config, policy: Policy, stage,
                timings: dict) -> dict:
    """Every computing stage of a run.

    Args:
        inputs: ``tx``, ``customers_master`` (as of ``as_of``), ``customers_at_contact`` (consent
            as of ``contact_date``), ``products``, ``holdings``, ``previous_exports``. ``tx`` and
            ``customers_master`` are taken out of the dict: the lines are let go once the offer engine
            has coded them and the gate's purchase history is summarised (gigabytes at ten million
            lines; their ``product_name`` and ``category`` columns are deleted from the frame as soon
            as the catalog is built), the customers once they are clustered; a caller that keeps no
            other reference to them frees them before the offers are scored.
        stage: ``stage(name, message)`` reports a stage's start and returns its start time.
        timings: stage name -> seconds, filled in here.
    Returns:
        ``customers``, ``offers`` (gated), ``clusters``, ``params``, ``quality``.
    """
    tx, holdings, products = inputs.pop("tx"), inputs["holdings"], inputs["products"]
    t0 = stage("features", "Computing recency, frequency, monetary and behaviour features")
    features = customer_features(tx, as_of)
    # Not in a second thread beside the features: each takes ~1.2 GB for a moment at ten million lines, and
    # together they would lift the run's peak above 4 GB (measured: 4.5 GB) to save ~3.5 s.
    history = summarise_history(tx, day_number(as_of), config.gate)  # what the audit gate reads of the lines
    timings["features"] = time.perf_counter() - t0

    t0 = stage("segments", "Scoring RFM segments, clustering, fitting value models")
    seg = segment_customers(features, config.segment,
                            extra=_extra_features(inputs.pop("customers_master"), holdings, as_of))
    customers = features.join(seg.customers, how="left")
    clusters, seg_params, seg_reasons = seg.clusters, seg.params, list(seg.reasons)
    del features, seg  # both are in `customers` now (a few hundred MB at a million customers)
    timings["segments"] = time.perf_counter() - t0

    release_freed()  # what clustering and the value models freed, before the offer engine's peak
    t0 = stage("offers", "Choosing scenarios and scoring next best offers")
    catalog = sales_catalog(tx, products, holdings, as_of=as_of, config=config.recommend)
    for described in ("product_name", "category"):  # in the catalog now, and nothing else reads them
        if described in tx.columns:
            del tx[described]
    coded = code_sales(tx, products, holdings, as_of=as_of, config=config.recommend, catalog=catalog)
    del catalog
    del tx  # coded for the engine and summarised for the gate: nothing reads the lines any more
    release_freed()  # before the engine's histories and models, the stage's biggest allocation
    engine = prepare_coded(coded, customers, as_of=as_of, config=config.recommend)
    del coded
    # A backtest on the shop's own last window chooses the blend, within a share of the time preparing took.
    calibration = calibrate(engine, budget_seconds=calibration_budget(time.perf_counter() - t0, config.recommend))
    engine = calibration.engine
    offers = engine.offers()
    offers_model = {**engine.info(), "calibration": calibration.report}
    offerable_products = int(engine.offerable.sum())
    # The prepared engine (the coded lines, the history, the item model) is not needed to judge the offers:
    # freed before the audit, whose facts are the run's other big allocation (gigabytes at 10M lines).
    del engine, calibration
    release_freed()
    timings["offers"] = time.perf_counter() - t0

    t0 = stage("audit", f"Audit gate ({policy.name} policy)")
    facts = offer_facts(offers, customers=inputs["customers_at_contact"], products=products, transactions=history,
                        holdings=holdings, previous_exports=inputs["previous_exports"], as_of=as_of,
                        contact_date=contact_date, config=config.gate)
    offers = gate_offers(offers, facts, config.gate, policy)
    del facts  # in the gated offers now (hundreds of MB at three million offers)
    quality = run_quality(offers, customers_in_run=customers.index, offerable_products=offerable_products,
                          config=config.gate)
    timings["audit"] = time.perf_counter() - t0
    params = {**seg_params, "offers_model": offers_model, "notes": seg_reasons + offers_model["notes"]}
    return {"customers": customers, "offers": offers, "clusters": _cluster_rows(clusters),
            "params": params, "quality": quality}


def _cluster_rows(clusters: pd.DataFrame) -> pd.DataFrame:
    """Cluster profiles as rows to store: number, size, persona code/name, description, numeric profile."""
    if clusters is None or clusters.empty:
        return pd.DataFrame(columns=["cluster", "size", "persona_code", "persona_name", "description", "profile"])
    numeric = clusters.select_dtypes("number").drop(columns=["size"], errors="ignore").round(6)
    profile = [{k: (None if pd.isna(v) else float(v)) for k, v in row.items()} for row in numeric.to_dict("records")]
    return pd.DataFrame({"cluster": clusters.index.astype(int), "size": clusters["size"].astype(int).to_numpy(),
                         "persona_code": clusters["persona"].astype(str).to_numpy(),
                         "persona_name": clusters["persona_name"].astype(str).to_numpy(),
                         "description": clusters["description"].astype(str).to_numpy(), "profile": profile})


def _extra_features(customers_master: pd.DataFrame, holdings: pd.DataFrame, as_of: dt.date) -> pd.DataFrame | None:
    """Demographics and holdings per customer, for clustering when they are loaded."""
    parts = []
    if customers_master["birth_date"].notna().any():
        age = (pd.Timestamp(as_of) - customers_master["birth_date"]).dt.days / 365.25
        parts.append(pd.DataFrame({"age": age.to_numpy()}, index=customers_master["customer_id"].to_numpy()))
    if len(holdings):
        held = holdings[held_on(holdings, as_of)]
        g = held.groupby("customer_id")
        parts.append(pd.DataFrame({"n_holdings": g["product_id"].nunique(), "balance": g["balance"].sum()}))
    if not parts:
        return None
    extra = pd.concat(parts, axis=1)
    extra.index = extra.index.astype("string")
    extra.index.name = "customer_id"
    return extra
