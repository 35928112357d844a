"""Writing a run's results: per-customer rows, cluster profiles and offers.

A run can hold a million customers and three million offers, so nothing here
works row by row in Python beyond zipping ready-made column lists into
tuples:

- ids are mapped to surrogate keys with one ``Index.get_indexer`` per column;
- the JSON columns (``features_json``, ``components_json``,
  ``explanation_params_json``) are encoded column-wise with Arrow compute
  (see :func:`crm_core.json_columns.json_objects`), not with one ``json.dumps`` per row;
- rows go in the order of their unique index (customer key, then rank), so
  the index grows at its end instead of at random places (about 40 % faster
  at three million offers); row ids therefore follow customer keys;
- the tuples go through :func:`crm_core.store.bulk.bulk_load` (the driver's
  ``executemany`` on SQLite, Core ``insert`` in batches elsewhere), inside
  the caller's unit of work, :data:`CHUNK_ROWS` rows at a time: the Python
  values of three million offers would take gigabytes at once (one load
  still decides once whether to rebuild the table's indexes); the next
  chunk's values are made in a second thread while SQLite inserts this one
  (:func:`crm_core.one_ahead.one_ahead`), and only the offers' stored columns
  are gathered into a chunk.
"""

from __future__ import annotations

import json
from itertools import repeat

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy.orm import Session

from crm_core.errors import NextBestError
from crm_core.json_columns import json_objects, json_records, jsonable
from crm_core.one_ahead import one_ahead
from crm_core.store.bulk import bulk_insert, bulk_load, stored_time
from crm_core.store.frames import code_rows, minor_factor
from crm_core.store.models import Customer, Product, utc_now

_CORE_FEATURES = {"first_purchase", "last_purchase", "recency_days", "frequency", "monetary", "r_score", "f_score",
                  "m_score", "rfm_segment", "cluster", "persona", "expected_purchases", "clv", "p_alive",
                  "churn_risk"}
_RUN_CUSTOMER_COLUMNS = ("run_id", "customer_id", "first_purchase", "last_purchase", "recency_days", "frequency",
                         "monetary_minor", "r_score", "f_score", "m_score", "rfm_segment", "cluster",
                         "expected_purchases", "clv", "p_alive", "churn_risk", "features_json")
_OFFER_COLUMNS = ("workspace_id", "run_id", "customer_id", "product_id", "rank", "scenario", "score",
                  "components_json", "explanation_code", "explanation_params_json", "expected_revenue",
                  "audit_score", "gate", "flags", "state", "submitted_by", "version", "created_at", "policy_name",
                  "policy_version", "facts_json", "origin")
_CLUSTER_COLUMNS = ("run_id", "cluster", "size", "persona_code", "persona_name", "description", "profile_json")
_COMPONENTS = ("affinity", "popularity", "profit", "scenario_fit")
# The offers frame's columns _offer_columns reads: only these are gathered into each chunk (the rendered
# explanation, flag details and family are not stored; gathering them took a third of the chunks' time).
_OFFER_INPUTS = ("product_id", "rank", "scenario", "score", *_COMPONENTS, "explanation_code", "explanation_params",
                 "expected_revenue", "audit_score", "gate", "flags", "policy_name", "policy_version", "facts")
CHUNK_ROWS = 25_000  # rows turned into Python values and inserted at a time (two chunks alive: one ahead)


class RunRowsUnknown(NextBestError, ValueError):
    """A run's customer or offer refers to a customer or product the store does not hold."""


def persist_run_results(session: Session, workspace_id: int, run_id: int, customers: pd.DataFrame,
                        offers: pd.DataFrame, clusters: pd.DataFrame, *, submitted_by: str) -> dict | None:
    """Insert a run's per-customer rows, cluster profiles and offers (inside the caller's unit of work).

    Args:
        session: the unit of work's session; nothing is committed here.
        workspace_id: the run's workspace.
        run_id: the PipelineRun the rows belong to.
        customers: per-customer output indexed by ``customer_id`` (features, scores,
            segments, value); further numeric columns go to ``features_json``.
        offers: the offers frame of docs/contracts.md (after the audit gate).
        clusters: ``cluster, size, persona_code, persona_name, description, profile`` rows.
        submitted_by: user recorded on every offer.
    Returns:
        The family of each offered product, ``{str(product key): family}`` (what
        ``PipelineRun.families_json`` keeps), or None when the offers carry no ``family``.
    Raises:
        RunRowsUnknown: a customer or product id is not in the workspace's store.
    """
    connection = session.connection()
    cust_codes = _code_index(session, Customer.customer_code, workspace_id)
    factor = minor_factor(session, workspace_id)
    c = customers.reset_index()
    pks = _keys(cust_codes, c["customer_id"], "customers")
    order = np.argsort(pks, kind="stable")  # in key order: the unique index grows at its end, not at random
    chunks = (_customer_columns(run_id, c.take(at).reset_index(drop=True), pks[at], factor)
              for at in _chunks(order))
    with bulk_load(connection, "run_customers", row_count=len(c)) as insert:
        for columns in one_ahead(chunks):  # chunk k+1 made while chunk k is inserted
            insert(_RUN_CUSTOMER_COLUMNS, zip(*columns))
    del c
    if clusters is not None and len(clusters):
        bulk_insert(connection, "run_clusters", _CLUSTER_COLUMNS, zip(*_cluster_columns(run_id, clusters)),
                    row_count=len(clusters))
    if len(offers):
        prod_codes = _code_index(session, Product.product_code, workspace_id)
        created_at = stored_time(connection, utc_now())
        o = offers.reset_index(drop=True)
        cust_pks = _keys(cust_codes, o["customer_id"], "customers")
        order = np.lexsort((o["rank"].to_numpy(dtype=np.int64), cust_pks))  # (customer key, rank): the index's order
        stored = o[[col for col in o.columns if col in _OFFER_INPUTS]]
        chunks = (_offer_columns(workspace_id, run_id, stored.take(at).reset_index(drop=True), cust_pks[at],
                                 prod_codes, submitted_by, created_at) for at in _chunks(order))
        with bulk_load(connection, "offers", row_count=len(o)) as insert:
            for columns in one_ahead(chunks):
                insert(_OFFER_COLUMNS, zip(*columns))
        if "family" in o.columns:
            first = o.drop_duplicates("product_id")
            keys = _keys(prod_codes, first["product_id"], "products")
            return dict(sorted(zip((str(k) for k in keys.tolist()), first["family"].astype("string").tolist())))
    return None


def _chunks(order: np.ndarray):
    """``order`` in slices of :data:`CHUNK_ROWS` positions."""
    return (order[start:start + CHUNK_ROWS] for start in range(0, len(order), CHUNK_ROWS))


# --------------------------------------------------------------------------- column builders


def _code_index(session: Session, code_col, workspace_id: int) -> tuple[pd.Index, np.ndarray]:
    """The workspace's codes as an Index, and their primary keys in the same order."""
    rows = code_rows(session, code_col, workspace_id)
    codes = pd.Index(pd.array([r[0] for r in rows], dtype="string"))
    return codes, np.array([r[1] for r in rows], dtype=np.int64)


def _keys(codes: tuple[pd.Index, np.ndarray], values, what: str) -> np.ndarray:
    """Primary keys of ``values`` (codes); raises RunRowsUnknown naming a few unknown ones."""
    index, pks = codes
    values = pd.Index(pd.array(values, dtype="string"))
    at = index.get_indexer(values)
    if (at < 0).any():
        missing = values[at < 0].unique()[:3].tolist()
        raise RunRowsUnknown(f"{what} {missing} of this run are not in the workspace's store; "
                             "import them (or re-run on the stored data) before saving the run")
    return pks[at]


def _customer_columns(run_id: int, c: pd.DataFrame, pks: np.ndarray, factor: int) -> list:
    """Column value lists of ``run_customers`` rows for customers ``c`` (a ``customer_id`` column) with keys ``pks``."""
    n = len(c)
    extra_cols = [col for col in c.columns if col not in _CORE_FEATURES and col != "customer_id"
                  and pd.api.types.is_numeric_dtype(c[col])]
    features = json_objects({col: _feature_values(c[col]) for col in extra_cols}) if extra_cols else repeat(None, n)

    def col(name):
        return python_values(c[name]) if name in c.columns else repeat(None, n)

    money = (c["monetary"].to_numpy(dtype="float64") * factor).round().astype(np.int64)
    return [repeat(run_id, n), pks.tolist(), _iso_dates(c["first_purchase"]),
            _iso_dates(c["last_purchase"]), c["recency_days"].to_numpy(dtype=np.int64).tolist(),
            c["frequency"].to_numpy(dtype=np.int64).tolist(), money.tolist(), col("r_score"), col("f_score"),
            col("m_score"), col("rfm_segment"), col("cluster"), col("expected_purchases"), col("clv"),
            col("p_alive"), col("churn_risk"), features]


def _feature_values(values: pd.Series):
    """A further feature as stored in features_json: floats rounded to 6 decimals, ints and booleans as they are."""
    if pd.api.types.is_float_dtype(values):
        return values.to_numpy(dtype="float64", na_value=np.nan).round(6)
    return values


def _cluster_columns(run_id: int, clusters: pd.DataFrame) -> list:
    profiles = [json.dumps(jsonable(p if isinstance(p, dict) else {})) for p in clusters["profile"]]
    return [repeat(run_id, len(clusters)), clusters["cluster"].astype(int).tolist(),
            clusters["size"].astype(int).tolist(), clusters["persona_code"].astype(str).tolist(),
            clusters["persona_name"].astype(str).tolist(), clusters["description"].astype(str).tolist(), profiles]


def _offer_columns(workspace_id, run_id, o: pd.DataFrame, cust_pks: np.ndarray, prod_codes, submitted_by,
                   created_at) -> list:
    """Column value lists of ``offers`` rows for the offers ``o`` made to the customers with keys ``cust_pks``."""
    n = len(o)
    components = json_objects({name: o[name].to_numpy(dtype="float64", na_value=np.nan)
                               for name in _COMPONENTS if name in o.columns}) or repeat("{}", n)
    params = _params_json(o["explanation_params"]) if "explanation_params" in o.columns else repeat("{}", n)
    code = python_values(o["explanation_code"].astype("string")) if "explanation_code" in o.columns \
        else repeat("OFFER", n)
    revenue = python_values(o["expected_revenue"]) if "expected_revenue" in o.columns else repeat(None, n)
    audit = (python_values(pd.to_numeric(o["audit_score"]).round().astype("Int64"))
             if "audit_score" in o.columns else repeat(None, n))
    flags = o["flags"].astype("string").replace("", pd.NA) if "flags" in o.columns else None
    policy = [python_values(o[c]) if c in o.columns else repeat(None, n) for c in ("policy_name", "policy_version")]
    facts = _facts_json(o["facts"]) if "facts" in o.columns else repeat(None, n)
    return [repeat(workspace_id, n), repeat(run_id, n), cust_pks.tolist(),
            _keys(prod_codes, o["product_id"], "products").tolist(), o["rank"].to_numpy(dtype=np.int64).tolist(),
            python_values(o["scenario"].astype("string")), o["score"].to_numpy(dtype="float64").tolist(),
            components, code, params, revenue, audit, python_values(o["gate"].astype("string")),
            python_values(flags) if flags is not None else repeat(None, n), repeat("pending", n),
            repeat(submitted_by, n), repeat(1, n), repeat(created_at, n), *policy, facts, repeat("engine", n)]


def _params_json(params: pd.Series) -> list:
    """Each offer's explanation parameters as JSON text (``{}`` when missing); the engine's are text already
    (``crm_core.recommend.params_array.ParamsArray.json_texts``: the store does not import the engine)."""
    json_texts = getattr(params.array, "json_texts", None)
    if callable(json_texts):
        return [text if text is not None else "{}" for text in json_texts()]
    return json_records(params.tolist())


def _facts_json(facts: pd.Series) -> list:
    """The gate's facts per offer (a struct column, or dicts) as JSON text, column-wise."""
    array = pa.array(facts.array) if isinstance(facts.dtype, pd.ArrowDtype) else pa.array(list(facts))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_struct(array.type):
        return json_records(list(facts))
    return json_objects({array.type.field(i).name: array.field(i) for i in range(array.type.num_fields)})


def python_values(values: pd.Series) -> list:
    """Python scalars with None for missing (NaN, NA, NaT), the way DB-API drivers want them."""
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: let pandas say what is missing
        return values.astype(object).where(values.notna(), None).tolist()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    return arr.to_pylist()


def _iso_dates(values: pd.Series) -> list:
    """``YYYY-MM-DD`` text of a datetime column (None for NaT), as a Date column stores it."""
    days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D").astype(object)
    text[np.isnat(days)] = None
    return text.tolist()
