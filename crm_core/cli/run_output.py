"""The files a command-line run writes: customers.csv, offers.csv, run.json.

Format contract: UTF-8 without BOM, comma-separated, one header row, dates
``YYYY-MM-DD``, floats rounded to 6 decimals, missing values empty; customers
sorted by customer_id, offers by customer_id then rank. The two CSV files are
byte-identical for the same input and config.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.formula_safety import neutralise_formulas

CUSTOMERS_CSV_COLUMNS = ["customer_id", "first_purchase", "last_purchase", "recency_days", "frequency", "monetary",
                    "r_score", "f_score", "m_score", "rfm_segment", "cluster", "persona", "expected_purchases",
                    "clv", "p_alive", "churn_risk"]
OFFERS_CSV_COLUMNS = ["customer_id", "rank", "product_id", "scenario", "score", "explanation", "audit_score", "gate",
                 "flags"]


def format_floats(values: pd.Series) -> pd.Series:
    """Fixed text for floats: rounded to 6 decimals, no trailing zeros, no ``-0``, empty when missing.

    The text ``"%.6f"`` gives once trailing zeros are cut, built from whole millionths with Arrow
    (``np.char.mod`` takes a microsecond a value); values of a billion or more take ``"%.6f"`` itself.
    """
    v = pd.to_numeric(values, errors="coerce").astype("float64").round(6)
    v = v.where(v != 0, 0.0)  # -0.0 -> 0.0
    a = v.to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(a)
    if not (np.abs(a[known]) < 1e9).all():  # beyond 2**53 millionths the integer path is not exact
        text = pd.Series(np.char.mod("%.6f", np.where(known, a, 0.0)), index=v.index)
        return text.str.rstrip("0").str.rstrip(".").where(known, "")
    millionths = np.rint(np.where(known, a, 0.0) * 1e6).astype(np.int64)
    whole, fraction = np.divmod(np.abs(millionths), 1_000_000)
    units = pa.array(whole).cast(pa.string())
    digits = pc.utf8_rtrim(pc.utf8_lpad(pa.array(fraction).cast(pa.string()), 6, "0"), "0")
    number = pc.if_else(pc.equal(pc.utf8_length(digits), 0), units, pc.binary_join_element_wise(units, digits, "."))
    number = pc.if_else(pa.array(millionths < 0), pc.binary_join_element_wise("-", number, ""), number)
    number = pc.if_else(pa.array(known), number, "")
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([number])), index=v.index)


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


CSV_BATCH_ROWS = 50_000  # rows turned into CSV text at a time (~15 MB of text, a few copies of it)
_QUOTE, _COMMA, _NEWLINE, _NOTHING = (pa.scalar(t, pa.large_string()) for t in ('"', ",", "\n", ""))


def write_csv(frame: pd.DataFrame, path: Path, *, batch_rows: int = CSV_BATCH_ROWS) -> None:
    """Write a text frame as UTF-8 CSV without BOM and with '\\n' line ends.

    The bytes are those of ``frame.to_csv(index=False, lineterminator="\\n")`` (missing values empty,
    a cell quoted when it holds a comma, a quote or a line feed, quotes doubled), built column-wise
    with Arrow: pandas writes row by row in Python (20 s for three million offers). A batch with a
    carriage return in it, or a column that is not text, goes through pandas itself.
    """
    with open(path, "wb") as handle:
        handle.write(_csv_header(frame.columns))
        for start in range(0, len(frame), batch_rows):
            handle.write(csv_rows(frame.iloc[start:start + batch_rows]))


def _csv_header(columns) -> bytes:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([str(c) for c in columns])
    return line.getvalue().encode("utf-8")


def csv_rows(frame: pd.DataFrame) -> bytes | memoryview:
    """The rows of ``frame`` (no header) as ``to_csv`` writes them, as UTF-8 bytes."""
    if len(frame) == 0:
        return b""
    if len(frame.columns) < 2 or not all(isinstance(t, pd.StringDtype) for t in frame.dtypes):
        return _pandas_rows(frame)
    cells = []
    for col in frame.columns:
        text = pc.fill_null(pa.array(frame[col], type=pa.large_string(), from_pandas=True), "")
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        data = _value_bytes(text)
        if (data == 13).any():
            return _pandas_rows(frame)  # Python's csv quotes a lone CR by version: let it decide
        if ((data == 34) | (data == 44) | (data == 10)).any():  # a quote, a comma or a line feed somewhere
            quoted = pc.binary_join_element_wise(_QUOTE, pc.replace_substring(text, '"', '""'), _QUOTE, _NOTHING)
            text = pc.if_else(pc.match_substring_regex(text, '[",\n]'), quoted, text)
        cells.append(text)
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, _COMMA), _NEWLINE, _NOTHING)
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    return _value_bytes(lines).data  # the lines, back to back


def _value_bytes(text: pa.LargeStringArray) -> np.ndarray:
    """The bytes of every value of ``text``, back to back (a view, no copy)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    if data is None:  # every value empty
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)[int(offsets[0]):int(offsets[-1])]


def _pandas_rows(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, header=False, lineterminator="\n").encode("utf-8")


def customers_table(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers.csv frame: contract columns as text, sorted by customer_id."""
    c = customers.reset_index() if "customer_id" not in customers.columns else customers
    c = c[[col for col in CUSTOMERS_CSV_COLUMNS if col in c.columns]]  # sort what is written, not every column
    c = c.sort_values("customer_id", kind="mergesort")
    return _csv_frame(c.reset_index(drop=True), CUSTOMERS_CSV_COLUMNS)


def offers_table(offers: pd.DataFrame) -> pd.DataFrame:
    """The offers.csv frame: contract columns as text, sorted by customer_id then rank."""
    if offers is None or len(offers) == 0:
        return pd.DataFrame(columns=OFFERS_CSV_COLUMNS)
    o = offers[[col for col in OFFERS_CSV_COLUMNS if col in offers.columns]]  # not the facts and flag details
    o = o.sort_values(["customer_id", "rank"], kind="mergesort").reset_index(drop=True)
    return _csv_frame(o, OFFERS_CSV_COLUMNS)


def write_run_outputs(out_dir: str | Path, customers: pd.DataFrame, offers: pd.DataFrame, meta: dict) -> Path:
    """Write customers.csv, offers.csv and run.json into ``out_dir`` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(customers_table(customers), out / "customers.csv")
    write_csv(offers_table(offers), out / "offers.csv")
    (out / "run.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return out
