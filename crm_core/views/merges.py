"""The read side of duplicate customers: proposed merges with their evidence, and the merges made.

Proposals come from the pure rules of :mod:`crm_core.customers.duplicates` over the
workspace's customer records (minus records already merged away, and pairs a manager merged
or dismissed), with each side's sales figures so the manager sees which record carries the
history; the suggested survivor is the record with more sales lines (ties: the smaller code).
The write side is :mod:`crm_core.services.merges`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select

from crm_core.customers.duplicates import PAIR_COLUMNS, duplicate_pairs, postcodes_from_extra
from crm_core.store.frames import minor_factor
from crm_core.store.models import Customer, CustomerMerge, Transaction

ACTIVE, UNDONE, DISMISSED = "merged", "undone", "dismissed"
CHUNK = 5_000  # ids per IN list
PROPOSAL_COLUMNS = ["survivor", "merged", "survivor_name", "merged_name", "rules", "strength", "evidence",
                    "survivor_lines", "merged_lines", "survivor_revenue", "merged_revenue", "survivor_last_purchase",
                    "merged_last_purchase"]
HISTORY_COLUMNS = ["merge_id", "state", "survivor", "merged", "rules", "moved_rows", "created_by", "created_at",
                   "reason", "undone_by", "undone_at"]


def customer_records(db, workspace_id: int) -> pd.DataFrame:
    """The workspace's customer records that are not merged into another one, with their identity fields.

    Returns:
        Columns ``customer_id`` (code), ``first_name, last_name, email, phone, region, city`` and
        ``postcode`` (from ``extra_json``, see :func:`crm_core.customers.duplicates.postcodes_from_extra`).
    """
    c = Customer
    merged_away = select(CustomerMerge.merged_id).where(CustomerMerge.workspace_id == workspace_id,
                                                        CustomerMerge.state == ACTIVE)
    stmt = (select(c.customer_code, c.first_name, c.last_name, c.email, c.phone, c.region, c.city, c.extra_json)
            .where(c.workspace_id == workspace_id, c.id.not_in(merged_away)).order_by(c.customer_code))
    with db.read() as s:
        rows = s.execute(stmt).all()
    columns = ["customer_id", "first_name", "last_name", "email", "phone", "region", "city", "extra_json"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["postcode"] = postcodes_from_extra(frame.pop("extra_json"))
    return frame.astype("string")


def merge_proposals(db, workspace_id: int, *, max_group: int = 5) -> pd.DataFrame:
    """Pairs of customer records that look like one person, with the evidence and both sides' sales.

    Args:
        db: the Database.
        workspace_id: the workspace.
        max_group: a key shared by more records is a placeholder (see duplicate_pairs).
    Returns:
        Columns :data:`PROPOSAL_COLUMNS`: ``survivor`` (suggested: more sales lines) and ``merged``
        (codes), names, ``rules``, ``strength``, ``evidence``, ``*_lines`` (sales lines, int64),
        ``*_revenue`` (net, major units) and ``*_last_purchase`` (datetime64). Pairs already merged
        or dismissed are left out. ``attrs["placeholders"]`` as in duplicate_pairs.
    """
    records = customer_records(db, workspace_id)
    pairs = duplicate_pairs(records, max_group=max_group)
    placeholders = pairs.attrs.get("placeholders", 0)
    pairs = pairs[~_decided(db, workspace_id, pairs)]
    stats = _sales(db, workspace_id, pd.concat([pairs["customer_a"], pairs["customer_b"]]).unique().tolist())
    names = records.set_index("customer_id")
    full = names["first_name"].fillna("").str.cat(names["last_name"].fillna(""), sep=" ").str.strip()
    lines_a = stats["lines"].reindex(pairs["customer_a"]).fillna(0).to_numpy()
    lines_b = stats["lines"].reindex(pairs["customer_b"]).fillna(0).to_numpy()
    a_survives = (lines_a > lines_b) | ((lines_a == lines_b) & (pairs["customer_a"] < pairs["customer_b"]).to_numpy())
    survivor = np.where(a_survives, pairs["customer_a"], pairs["customer_b"])
    merged = np.where(a_survives, pairs["customer_b"], pairs["customer_a"])
    out = pd.DataFrame({"survivor": pd.array(survivor, dtype="string"), "merged": pd.array(merged, dtype="string")})
    for side in ("survivor", "merged"):
        codes = out[side]
        out[f"{side}_name"] = full.reindex(codes).replace("", pd.NA).astype("string").to_numpy()
        out[f"{side}_lines"] = stats["lines"].reindex(codes).fillna(0).astype("int64").to_numpy()
        out[f"{side}_revenue"] = stats["revenue"].reindex(codes).fillna(0.0).astype("float64").to_numpy()
        out[f"{side}_last_purchase"] = stats["last_purchase"].reindex(codes).to_numpy()
    for col in ("rules", "strength", "evidence"):
        out[col] = pairs[col].to_numpy()
    out = out[PROPOSAL_COLUMNS].reset_index(drop=True)
    out.attrs["placeholders"] = placeholders
    return out


def _decided(db, workspace_id: int, pairs: pd.DataFrame) -> np.ndarray:
    """Which pairs a manager already merged (still merged) or dismissed, in either direction."""
    s_code, m_code = Customer.__table__.alias("s"), Customer.__table__.alias("m")
    stmt = (select(s_code.c.customer_code, m_code.c.customer_code).select_from(CustomerMerge)
            .join(s_code, s_code.c.id == CustomerMerge.survivor_id).join(m_code, m_code.c.id == CustomerMerge.merged_id)
            .where(CustomerMerge.workspace_id == workspace_id, CustomerMerge.state.in_((ACTIVE, DISMISSED))))
    with db.read() as s:
        done = {frozenset(row) for row in s.execute(stmt).all()}
    return np.array([frozenset((a, b)) in done for a, b in zip(pairs["customer_a"], pairs["customer_b"])], dtype=bool)


def _sales(db, workspace_id: int, codes: list[str]) -> pd.DataFrame:
    """Per customer code: sales lines, net revenue (major units) and last purchase (one GROUP BY per chunk)."""
    t = Transaction
    rows = []
    with db.read() as s:
        factor = minor_factor(s, workspace_id)
        for start in range(0, len(codes), CHUNK):
            chunk = codes[start:start + CHUNK]
            rows += s.execute(
                select(Customer.customer_code, func.sum(case((t.is_return.is_(False), 1), else_=0)),
                       func.coalesce(func.sum(t.amount_minor), 0),
                       func.max(case((t.is_return.is_(False), t.invoice_date))))
                .join(t, t.customer_id == Customer.id)
                .where(Customer.workspace_id == workspace_id, Customer.customer_code.in_(chunk))
                .group_by(Customer.customer_code)).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "lines", "revenue_minor", "last_purchase"])
    frame["lines"] = frame["lines"].fillna(0).astype("int64")
    frame["revenue"] = frame.pop("revenue_minor").astype("float64") / factor
    frame["last_purchase"] = pd.to_datetime(frame["last_purchase"]).astype("datetime64[ns]")
    return frame.set_index("customer_id")


def merge_history(db, workspace_id: int, *, limit: int = 500) -> pd.DataFrame:
    """The workspace's merges and dismissals, newest first.

    Returns:
        Columns :data:`HISTORY_COLUMNS`: ``merge_id``, ``state`` (merged | undone | dismissed),
        ``survivor`` and ``merged`` (codes), ``rules``, ``moved_rows`` (rows the merge moved, int64),
        who and when, the reason, and who undid it when.
    """
    s_code, m_code = Customer.__table__.alias("s"), Customer.__table__.alias("m")
    m = CustomerMerge
    stmt = (select(m.id, m.state, s_code.c.customer_code, m_code.c.customer_code, m.evidence_json, m.counts_json,
                   m.created_by, m.created_at, m.reason, m.undone_by, m.undone_at)
            .join(s_code, s_code.c.id == m.survivor_id).join(m_code, m_code.c.id == m.merged_id)
            .where(m.workspace_id == workspace_id).order_by(m.id.desc()).limit(limit))
    with db.read() as s:
        rows = s.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["merge_id", "state", "survivor", "merged", "evidence", "counts", "created_by",
                                        "created_at", "reason", "undone_by", "undone_at"])
    frame["rules"] = [", ".join((e or {}).get("rules") or []) for e in frame["evidence"]]
    frame["moved_rows"] = pd.array([sum((c or {}).get("moved", {}).values()) for c in frame["counts"]], dtype="int64")
    for col in ("created_at", "undone_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("state", "survivor", "merged", "rules", "created_by", "reason", "undone_by"):
        frame[col] = frame[col].astype("string")
    frame["merge_id"] = frame["merge_id"].astype("int64")
    return frame[HISTORY_COLUMNS]


def merged_into(db, workspace_id: int) -> dict[str, str]:
    """Code of each customer merged away -> code of the record it was merged into (merges in force)."""
    s_code, m_code = Customer.__table__.alias("s"), Customer.__table__.alias("m")
    stmt = (select(m_code.c.customer_code, s_code.c.customer_code).select_from(CustomerMerge)
            .join(s_code, s_code.c.id == CustomerMerge.survivor_id).join(m_code, m_code.c.id == CustomerMerge.merged_id)
            .where(CustomerMerge.workspace_id == workspace_id, CustomerMerge.state == ACTIVE))
    with db.read() as s:
        return {a: b for a, b in s.execute(stmt).all()}


def merges_version(db, workspace_id: int) -> tuple:
    """A cheap fingerprint that changes with every merge, undo or dismissal (for caching the proposals)."""
    with db.read() as s:
        row = s.execute(select(func.count(), func.max(CustomerMerge.id), func.sum(CustomerMerge.version))
                        .where(CustomerMerge.workspace_id == workspace_id)).one()
    return tuple(row)


__all__ = ["ACTIVE", "DISMISSED", "HISTORY_COLUMNS", "PAIR_COLUMNS", "PROPOSAL_COLUMNS", "UNDONE", "customer_records",
           "merge_history", "merge_proposals", "merged_into", "merges_version"]
