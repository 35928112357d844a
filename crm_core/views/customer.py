"""Customer 360: everything NextBest knows about one customer, as of a stored run.

``customer_360`` reads one customer's master data, dated attributes as of the
run's date, purchase timeline, RFM scores, segment (with its description and
suggested action), persona, predicted value, holdings and offers. Queries
touch that one customer only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, or_, select

from crm_core.dates import as_timestamp, end_of_day
from crm_core.errors import NotFound
from crm_core.holdings import held_on
from crm_core.ids import normalise_id
from crm_core.segment.rfm import SegmentText, segment_text
from crm_core.store.frames import CONSENT_VALUES, minor_factor
from crm_core.store.models import Customer, CustomerAttribute, Holding, Product, RunCluster, RunCustomer, Transaction
from crm_core.store.text_search import case_blind, escape_like, folded, folded_contains
from crm_core.views.offers import customer_offers
from crm_core.views.runs import RunInfo, get_run, latest_run

log = logging.getLogger(__name__)
DATED_ATTRIBUTES = ("email_opt_in", "do_not_contact", "last_contacted_at")
PURCHASE_COLUMNS = ("invoice_date", "invoice_id", "product_id", "product_name", "category", "quantity", "amount",
                    "is_return", "after_as_of")


class CustomerNotFound(NotFound):
    """No customer with that id in the workspace."""


@dataclass(frozen=True)
class CustomerScores:
    """A customer's results in one run."""

    first_purchase: dt.date
    last_purchase: dt.date
    recency_days: int
    frequency: int
    monetary: float
    r_score: int | None
    f_score: int | None
    m_score: int | None
    segment: SegmentText | None
    cluster: int | None
    persona_name: str | None
    persona_description: str | None
    expected_purchases: float | None
    clv: float | None
    p_alive: float | None
    churn_score: float | None
    churn_risk: str | None


@dataclass(frozen=True)
class Customer360:
    """One customer seen from every side (see :func:`customer_360`)."""

    customer_id: str
    name: str | None
    master: dict  # first_name, last_name, email, phone, birth_date, region, city, tags
    attributes: dict  # email_opt_in, do_not_contact (bool | None), last_contacted_at (datetime | None)
    as_of: dt.date | None  # the run's date (attributes are resolved as of it)
    run: RunInfo | None
    scores: CustomerScores | None  # None when the customer is not in the run (no sale by its date)
    purchases: pd.DataFrame  # PURCHASE_COLUMNS, oldest first; amounts in major units
    holdings: pd.DataFrame  # product_id, name, family, opened_at, closed_at, balance, held
    offers: pd.DataFrame | None  # None while offers cannot be read (see offers_note)
    offers_note: str | None = None


def search_customers(db, workspace_id: int, text: str, *, limit: int = 25) -> pd.DataFrame:
    """Customers whose id, name or email contains ``text``, ids first then by id.

    The text is matched literally (``%`` and ``_`` are characters, not wildcards) and without
    regard to case, for every alphabet (``ünïcødé`` finds ``Ünïcødé``) on SQLite and PostgreSQL.

    Returns:
        ``customer_id, name, email, city, region`` (string), at most ``limit`` rows.
    """
    needle = (text or "").strip().lower()
    c = Customer
    stmt = select(c.customer_code, c.first_name, c.last_name, c.email, c.city, c.region).where(
        c.workspace_id == workspace_id)
    if needle:  # folded_contains: SQLite's own LIKE for ASCII values, Python's lower() for the others only
        like, blind = f"%{escape_like(needle)}%", case_blind(needle)
        # "first last" contains a text without a space only within one of the names (the text is stripped):
        # the names are joined, a string per row, only for a text holding a space
        full = func.coalesce(c.first_name, "") + " " + func.coalesce(c.last_name, "")
        columns = [c.customer_code, *((full,) if " " in needle else (c.first_name, c.last_name)), c.email]
        stmt = stmt.where(or_(*(folded_contains(db, column, like, case_blind_pattern=blind) for column in columns)))
    stmt = stmt.order_by((folded(db, c.customer_code) != needle), c.customer_code).limit(int(limit))
    with db.read() as s:
        rows = s.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "first_name", "last_name", "email", "city", "region"],
                         dtype="string")
    name = frame["first_name"].fillna("").str.cat(frame["last_name"].fillna(""), sep=" ").str.strip()
    frame.insert(1, "name", name.mask(name == ""))
    return frame.drop(columns=["first_name", "last_name"])


def customer_360(db, workspace_id: int, customer_code: str, run_id: int | None = None) -> Customer360:
    """Everything about one customer, as of run ``run_id`` (default: the newest succeeded run).

    Args:
        db: the Database.
        workspace_id: the customer's workspace.
        customer_code: the id as the source gives it (normalised like on import).
        run_id: the run whose scores to show; None = latest succeeded run.
    Returns:
        A :class:`Customer360`; ``scores`` is None when the customer is not in the run.
    Raises:
        CustomerNotFound, crm_core.views.runs.RunNotFound.
    """
    code = normalise_id(customer_code)
    run = get_run(db, run_id, workspace_id=workspace_id) if run_id is not None else latest_run(db, workspace_id)
    with db.read() as s:
        customer = s.scalar(select(Customer).where(Customer.workspace_id == workspace_id,
                                                   Customer.customer_code == code))
        if customer is None:
            raise CustomerNotFound(f"No customer {customer_code!r} in this workspace; search by id, name or email.")
        factor = minor_factor(s, workspace_id)
        master = {k: getattr(customer, k) for k in ("first_name", "last_name", "email", "phone", "birth_date",
                                                    "region", "city", "tags")}
        as_of = run.as_of if run is not None else None
        purchases = _purchases(s, customer.id, factor, as_of)
        if as_of is None and len(purchases):
            as_of = purchases["invoice_date"].max().date()
        attributes = _attributes(s, customer.id, as_of)
        scores = _scores(s, run.id, customer.id, factor) if run is not None else None
        holdings = _holdings(s, customer.id, factor, as_of)
    name = " ".join(p for p in (master["first_name"], master["last_name"]) if p) or None
    offers, note = _offers(db, run, code)
    return Customer360(code, name, master, attributes, as_of, run, scores, purchases, holdings, offers, note)


def _purchases(s, customer_pk: int, factor: int, as_of: dt.date | None) -> pd.DataFrame:
    t, p = Transaction, Product
    rows = s.execute(select(t.invoice_date, t.invoice_code, p.product_code, p.name,
                            func.coalesce(p.family, t.category), t.quantity, t.amount_minor, t.is_return)
                     .outerjoin(p, p.id == t.product_id).where(t.customer_id == customer_pk)
                     .order_by(t.invoice_date, t.id)).all()
    frame = pd.DataFrame(rows, columns=["invoice_date", "invoice_id", "product_id", "product_name", "category",
                                        "quantity", "amount_minor", "is_return"])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"]).astype("datetime64[ns]")
    for col in ("invoice_id", "product_id", "product_name", "category"):
        frame[col] = frame[col].astype("string")
    frame["quantity"] = frame["quantity"].astype("float64")
    frame["amount"] = frame.pop("amount_minor").astype("float64") / factor
    frame["is_return"] = frame["is_return"].astype(bool)
    end = as_timestamp(as_of) + pd.Timedelta(days=1) if as_of is not None else pd.Timestamp.max
    frame["after_as_of"] = (frame["invoice_date"] >= end).to_numpy(dtype=bool)
    return frame[list(PURCHASE_COLUMNS)]


def _attributes(s, customer_pk: int, as_of: dt.date | None) -> dict:
    a = CustomerAttribute
    stmt = select(a.attribute, a.value, a.effective_from).where(a.customer_id == customer_pk)
    if as_of is not None:
        stmt = stmt.where(a.effective_from < end_of_day(as_of))
    latest: dict[str, str | None] = {}
    for attribute, value, _ in s.execute(stmt.order_by(a.attribute, a.effective_from, a.id)).all():
        latest[attribute] = value  # ordered: the last one seen is the latest effective
    flags = {name: _bool(latest.get(name)) for name in ("email_opt_in", "do_not_contact")}
    contacted = latest.get("last_contacted_at")
    flags["last_contacted_at"] = pd.Timestamp(contacted).to_pydatetime() if contacted else None
    return flags


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return CONSENT_VALUES.get(str(value).strip().lower())


def _scores(s, run_id: int, customer_pk: int, factor: int) -> CustomerScores | None:
    rc, cl = RunCustomer, RunCluster
    row = s.execute(select(rc, cl.persona_name, cl.description)
                    .outerjoin(cl, (cl.run_id == rc.run_id) & (cl.cluster == rc.cluster))
                    .where(rc.run_id == run_id, rc.customer_id == customer_pk)).first()
    if row is None:
        return None
    r, persona, description = row
    churn_score = (r.features_json or {}).get("churn_score")
    return CustomerScores(
        r.first_purchase, r.last_purchase, r.recency_days, r.frequency, r.monetary_minor / factor, r.r_score,
        r.f_score, r.m_score, segment_text(r.rfm_segment) if r.rfm_segment else None, r.cluster, persona,
        description, r.expected_purchases, r.clv, r.p_alive, churn_score, r.churn_risk)


def _holdings(s, customer_pk: int, factor: int, as_of: dt.date | None) -> pd.DataFrame:
    h, p = Holding, Product
    rows = s.execute(select(p.product_code, p.name, p.family, h.opened_at, h.closed_at, h.balance_minor)
                     .join(p, p.id == h.product_id).where(h.customer_id == customer_pk)
                     .order_by(h.opened_at, h.id)).all()
    frame = pd.DataFrame(rows, columns=["product_id", "name", "family", "opened_at", "closed_at", "balance_minor"])
    for col in ("product_id", "name", "family"):
        frame[col] = frame[col].astype("string")
    for col in ("opened_at", "closed_at"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    frame["balance"] = frame.pop("balance_minor").astype("float64") / factor
    day = as_timestamp(as_of) if as_of is not None else pd.Timestamp.max - pd.Timedelta(days=1)
    frame["held"] = held_on(frame, day)
    return frame


def _offers(db, run: RunInfo | None, code: str) -> tuple[pd.DataFrame | None, str | None]:
    """The run's offers to this customer (None and a note when they cannot be read)."""
    if run is None:
        return None, "No pipeline run yet: offers appear after an analyst runs the pipeline."
    try:
        return customer_offers(db, run.id, code), None
    except Exception as exc:  # the offers panel must not take the rest of the customer down with it
        log.exception("reading the offers of customer %s in run %s failed", code, run.id)
        return None, f"The offers of this customer could not be read ({exc}); the rest of the page is complete."
