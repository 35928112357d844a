"""Writing a run's results and reading them back as frames.

Bulk inserts through SQLAlchemy Core (executemany), never row-by-row ORM
adds: a run can hold a million customers and three million offers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from crm_core.store.models import Customer, Offer, Product, RunCluster, RunCustomer, Workspace

_CHUNK = 50_000
_CORE_FEATURES = {"first_purchase", "last_purchase", "recency_days", "frequency", "monetary", "r_score", "f_score",
                  "m_score", "rfm_segment", "cluster", "persona", "expected_purchases", "clv", "p_alive",
                  "churn_risk"}


def _code_map(session: Session, model, code_col, workspace_id: int) -> dict[str, int]:
    rows = session.execute(select(code_col, model.id).where(model.workspace_id == workspace_id))
    return {code: pk for code, pk in rows}


def _none(values: pd.Series) -> list:
    """Python scalars with None for missing (what the DB-API wants)."""
    obj = values.astype(object)
    return obj.where(values.notna(), None).tolist()


def _insert_chunks(session: Session, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), _CHUNK):
        session.execute(insert(table), rows[i:i + _CHUNK])


def persist_run_results(session: Session, workspace_id: int, run_id: int, customers: pd.DataFrame,
                        offers: pd.DataFrame, clusters: pd.DataFrame, *, submitted_by: str) -> None:
    """Insert a run's per-customer rows, cluster profiles and offers (inside the caller's unit of work)."""
    cust_pk = _code_map(session, Customer, Customer.customer_code, workspace_id)
    prod_pk = _code_map(session, Product, Product.product_code, workspace_id)
    decimals = session.scalar(select(Workspace.currency_decimals).where(Workspace.id == workspace_id))
    _insert_customers(session, run_id, customers, cust_pk, 10 ** (2 if decimals is None else decimals))
    if clusters is not None and len(clusters):
        _insert_chunks(session, RunCluster.__table__, [
            {"run_id": run_id, "cluster": int(r.cluster), "size": int(r.size), "persona_code": str(r.persona_code),
             "persona_name": str(r.persona_name), "description": str(r.description),
             "profile_json": r.profile if isinstance(r.profile, dict) else {}}
            for r in clusters.itertuples(index=False)])
    if len(offers):
        _insert_offers(session, workspace_id, run_id, offers, cust_pk, prod_pk, submitted_by)


def _insert_customers(session, run_id, customers: pd.DataFrame, cust_pk: dict, factor: int) -> None:
    c = customers.reset_index()
    extra_cols = [col for col in c.columns if col not in _CORE_FEATURES and col != "customer_id"
                  and pd.api.types.is_numeric_dtype(c[col])]
    extras = c[extra_cols].round(6).astype(object).where(c[extra_cols].notna(), None).to_dict("records") \
        if extra_cols else [None] * len(c)

    def col(name, default=None):
        return _none(c[name]) if name in c.columns else [default] * len(c)

    pks = c["customer_id"].map(cust_pk)
    if pks.isna().any():
        missing = c.loc[pks.isna(), "customer_id"].head(3).tolist()
        raise ValueError(f"customers missing from the store: {missing}")
    money = (c["monetary"] * factor).round().astype("int64")
    rows = [dict(zip(("run_id", "customer_id", "first_purchase", "last_purchase", "recency_days", "frequency",
                      "monetary_minor", "r_score", "f_score", "m_score", "rfm_segment", "cluster",
                      "expected_purchases", "clv", "p_alive", "churn_risk", "features_json"), vals))
            for vals in zip([run_id] * len(c), pks.astype(int).tolist(), c["first_purchase"].dt.date.tolist(),
                            c["last_purchase"].dt.date.tolist(), c["recency_days"].astype(int).tolist(),
                            c["frequency"].astype(int).tolist(), money.tolist(), col("r_score"), col("f_score"),
                            col("m_score"), col("rfm_segment"), col("cluster"), col("expected_purchases"),
                            col("clv"), col("p_alive"), col("churn_risk"), extras)]
    _insert_chunks(session, RunCustomer.__table__, rows)


def _insert_offers(session, workspace_id, run_id, offers: pd.DataFrame, cust_pk, prod_pk, submitted_by) -> None:
    o = offers.reset_index(drop=True)
    comp_cols = [c for c in ("affinity", "popularity", "profit", "scenario_fit") if c in o.columns]
    comps = o[comp_cols].astype(object).where(o[comp_cols].notna(), None).to_dict("records")
    params = o["explanation_params"].tolist() if "explanation_params" in o.columns else [{}] * len(o)
    audit = _none(o["audit_score"]) if "audit_score" in o.columns else [None] * len(o)
    rows = [{"workspace_id": workspace_id, "run_id": run_id, "customer_id": cust_pk[c], "product_id": prod_pk[p],
             "rank": int(r), "scenario": str(sc), "score": float(s), "components_json": comp,
             "explanation_code": str(code), "explanation_params_json": _jsonable(par),
             "expected_revenue": None if er is None or (isinstance(er, float) and np.isnan(er)) else float(er),
             "audit_score": None if a is None else int(a), "gate": str(g), "flags": f or None,
             "state": "pending", "submitted_by": submitted_by, "version": 1}
            for c, p, r, sc, s, comp, code, par, er, a, g, f in zip(
                o["customer_id"], o["product_id"], o["rank"], o["scenario"], o["score"], comps,
                o.get("explanation_code", pd.Series(["OFFER"] * len(o))), params,
                o["expected_revenue"] if "expected_revenue" in o.columns else [None] * len(o),
                audit, o["gate"], o["flags"])]
    _insert_chunks(session, Offer.__table__, rows)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if value is pd.NA:
        return None
    return value
