"""The files a command-line run writes: customers.csv, offers.csv, run.json.

Format contract: UTF-8 without BOM, comma-separated, one header row, dates
``YYYY-MM-DD``, floats rounded to 6 decimals, missing values empty; customers
sorted by customer_id, offers by customer_id then rank. The two CSV files are
byte-identical for the same input and config.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from crm_core.formula_safety import neutralise_formulas

CUSTOMERS_CSV_COLUMNS = ["customer_id", "first_purchase", "last_purchase", "recency_days", "frequency", "monetary",
                    "r_score", "f_score", "m_score", "rfm_segment", "cluster", "persona", "expected_purchases",
                    "clv", "p_alive", "churn_risk"]
OFFERS_CSV_COLUMNS = ["customer_id", "rank", "product_id", "scenario", "score", "explanation", "audit_score", "gate",
                 "flags"]


def format_floats(values: pd.Series) -> pd.Series:
    """Fixed text for floats: rounded to 6 decimals, no trailing zeros, no ``-0``, empty when missing."""
    v = pd.to_numeric(values, errors="coerce").astype("float64").round(6)
    v = v.where(v != 0, 0.0)  # -0.0 -> 0.0
    text = pd.Series(np.char.mod("%.6f", v.fillna(0).to_numpy()), index=v.index)
    text = text.str.rstrip("0").str.rstrip(".")
    return text.where(v.notna(), "")


def _csv_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        if col not in frame.columns:
            out[col] = ""
            continue
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "true", False: "false"}).astype("string").fillna("")
        elif pd.api.types.is_integer_dtype(s):
            out[col] = s.astype("Int64").astype("string").fillna("")
        elif pd.api.types.is_float_dtype(s):
            whole = s.dropna()
            if col in ("cluster", "r_score", "f_score", "m_score", "rank", "audit_score") or (
                    len(whole) and (whole == whole.round()).all() and col in ("recency_days", "frequency")):
                out[col] = s.astype("Int64").astype("string").fillna("")
            else:
                out[col] = format_floats(s)
        else:
            out[col] = s.astype("string").fillna("")
    return neutralise_formulas(out)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a text frame as UTF-8 CSV without BOM and with '\\n' line ends."""
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def customers_table(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers.csv frame: contract columns as text, sorted by customer_id."""
    c = customers.reset_index() if "customer_id" not in customers.columns else customers
    c = c.sort_values("customer_id", kind="mergesort")
    return _csv_frame(c.reset_index(drop=True), CUSTOMERS_CSV_COLUMNS)


def offers_table(offers: pd.DataFrame) -> pd.DataFrame:
    """The offers.csv frame: contract columns as text, sorted by customer_id then rank."""
    if offers is None or len(offers) == 0:
        return pd.DataFrame(columns=OFFERS_CSV_COLUMNS)
    o = offers.sort_values(["customer_id", "rank"], kind="mergesort").reset_index(drop=True)
    return _csv_frame(o, OFFERS_CSV_COLUMNS)


def write_run_outputs(out_dir: str | Path, customers: pd.DataFrame, offers: pd.DataFrame, meta: dict) -> Path:
    """Write customers.csv, offers.csv and run.json into ``out_dir`` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(customers_table(customers), out / "customers.csv")
    write_csv(offers_table(offers), out / "offers.csv")
    (out / "run.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return out
