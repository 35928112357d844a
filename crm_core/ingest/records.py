"""Validate master data files: customers, products, holdings and outcomes.

Same rules as transactions (see :mod:`crm_core.ingest.validate`): rows
without their id are rejected, optional values that cannot be read are
warned about and left empty, ids are normalised.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from crm_core.ingest.cells import finish
from crm_core.ingest.numbers import to_float, to_minor
from crm_core.ingest.read import ParsedTable

TRUE_WORDS = {"1", "true", "t", "yes", "y", "x", "oui", "o", "vrai", "si", "sì", "sí", "vero", "verdadero",
              "ja", "j", "wahr", "optin", "opt-in", "subscribed", "on", "active", "actif", "attivo", "activo",
              "aktiv"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "non", "faux", "falso", "nein", "optout", "opt-out",
               "unsubscribed", "off", "inactive", "inactif", "inattivo", "inactivo", "inaktiv", "-"}


def parse_booleans(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no words in five languages (and 1/0, x) to ``boolean``; returns ``(values, bad_mask)``."""
    folded = text.str.lower().str.strip()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[folded.isin(TRUE_WORDS).fillna(False)] = True
    values[folded.isin(FALSE_WORDS).fillna(False)] = False
    bad = (text.notna() & values.isna()).to_numpy(bool)
    return values, bad


def _booleans(cells, name: str) -> pd.Series:
    values, bad = parse_booleans(cells.text(name))
    cells.warn(bad, name, "bad_boolean", cells.text(name))
    return values.where(~bad)


def _required_id(cells, name: str, code: str, *, upper: bool = False) -> pd.Series:
    ids = cells.ids(name, upper=upper)
    cells.reject(ids.isna().to_numpy(bool), name, code)
    return ids


def _last_wins(cells, ids: pd.Series, name: str) -> np.ndarray:
    """Warn about ids repeated in the file; returns the mask of rows superseded by a later one."""
    live = ids.where(~cells.rejected)
    repeated = (live.duplicated(keep="last") & live.notna()).to_numpy(bool)
    cells.warn(repeated, name, "duplicate_id", ids)
    return repeated


def validate_records(table: ParsedTable, cells):
    """Validate a customers, products, holdings or outcomes file (see the module docstring)."""
    kind = table.kind
    if kind == "customers":
        rows, superseded = _customers(cells)
    elif kind == "products":
        rows, superseded = _products(cells)
    elif kind == "holdings":
        rows, superseded = _holdings(cells), None
    else:
        rows, superseded = _outcomes(cells), None
    result = finish(kind, cells, rows, table.parse_rejects)
    if superseded is not None:
        keep = ~pd.Series(superseded, index=rows.index).loc[result.rows.index]
        result = dataclasses.replace(result, rows=result.rows.loc[keep.to_numpy(bool)])
    return result


def _customers(cells):
    ids = _required_id(cells, "customer_id", "missing_customer_id")
    email = cells.text("email")
    cells.warn((email.notna() & ~email.str.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").fillna(False)).to_numpy(bool),
               "email", "invalid_email", email)
    rows = pd.DataFrame({"customer_id": ids}, index=cells.frame.index)
    for name in ("first_name", "last_name", "email", "phone", "region", "city", "tags"):
        rows[name] = cells.text(name)
    rows["birth_date"] = cells.date("birth_date", required=False)
    rows["email_opt_in"] = _booleans(cells, "email_opt_in")
    rows["do_not_contact"] = _booleans(cells, "do_not_contact")
    rows["last_contacted_at"] = cells.date("last_contacted_at", required=False)
    rows["effective_date"] = cells.date("effective_date", required=False)
    return rows, _last_wins(cells, ids, "customer_id")


def _products(cells):
    config = cells.ctx.config
    ids = _required_id(cells, "product_id", "missing_product_id", upper=config.upper_case_product_ids)
    rows = pd.DataFrame({"product_id": ids, "name": cells.text("name"), "family": cells.text("family")},
                        index=cells.frame.index)
    rows["price_minor"] = _optional_minor(cells, "price")
    rows["unit_cost_minor"] = _optional_minor(cells, "unit_cost")
    margin_text = cells.text("margin")
    margin = to_float(cells.number("margin", required=False, percent=True))
    as_percent = margin_text.str.contains("%", regex=False).fillna(False).to_numpy(bool) | (margin.abs() > 1)
    rows["margin_rate"] = margin.where(~as_percent, margin / 100)
    active, _ = parse_booleans(cells.text("active"))
    cells.warn(cells.text("active").notna() & active.isna(), "active", "bad_boolean", cells.text("active"))
    rows["active"] = active.fillna(True).astype(bool)
    rows["aliases"] = cells.text("aliases")
    non_merch = {c.strip().upper() for c in config.non_merchandise_codes}
    rows["is_merchandise"] = ~ids.str.upper().isin(non_merch).fillna(False).to_numpy(bool)
    return rows, _last_wins(cells, ids, "product_id")


def _optional_minor(cells, name: str) -> pd.Series:
    canon = cells.number(name, required=False)

    return to_minor(canon, cells.ctx.decimals)


def _holdings(cells):
    upper = cells.ctx.config.upper_case_product_ids
    rows = pd.DataFrame({"customer_id": _required_id(cells, "customer_id", "missing_customer_id"),
                         "product_id": _required_id(cells, "product_id", "missing_product_id", upper=upper)},
                        index=cells.frame.index)
    rows["opened_at"] = cells.date("opened_at", required=False)
    rows["closed_at"] = cells.date("closed_at", required=False)
    rows["balance_minor"] = _optional_minor(cells, "balance")
    return rows


def _outcomes(cells):
    rows = pd.DataFrame({"customer_id": _required_id(cells, "customer_id", "missing_customer_id"),
                         "reference": cells.text("reference"), "campaign": cells.text("campaign"),
                         "offer_id": cells.text("offer_id")}, index=cells.frame.index)
    rows["responded_at"] = cells.date("responded_at", required=False)
    rows["revenue_minor"] = _optional_minor(cells, "revenue")
    converted = _booleans(cells, "converted")
    rows["converted"] = converted.fillna(rows["revenue_minor"].fillna(0) > 0).astype(bool)
    return rows
