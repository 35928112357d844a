"""The read side of outcomes: what the customers of an exported campaign did, counted in SQL.

Two sources, per customer of the campaign's treatment and holdout groups (excluded
customers are never measured):

* ``inferred``: their sales lines inside a :class:`SalesWindow` that match an offer of
  theirs in the campaign (the rule is :mod:`crm_core.outcomes.attribution`; the window
  and the product families come in as explicit arguments). Converted when such a line is a
  sale (positive amount, not a return); revenue is the net amount of those lines, never below 0;
* ``file``: the outcome rows imported for the campaign (linked to it, or to one of its
  offers). Converted when any row says so; revenue is the sum of the rows' revenue; a
  customer without a row counts as not converted.

Every function aggregates in the database and returns a few rows per group (or per group
and segment, scenario, product, day): the memory used does not grow with the campaign.
Money comes back in major units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
from sqlalchemy import Float, and_, bindparam, case, cast, distinct, exists, func, literal, or_, select

from crm_core.errors import NotFound, ValidationError
from crm_core.recommend.settings import COMPONENTS
from crm_core.store.frames import minor_factor
from crm_core.store.models import (Campaign, CampaignMember, CampaignOffer, Offer, Outcome, Product, Transaction,
                                   Workspace)

TREATMENT, HOLDOUT = "treatment", "holdout"
MEASURED_GROUPS = (TREATMENT, HOLDOUT)
INFERRED, OUTCOME_FILE = "inferred", "file"
SOURCES = (INFERRED, OUTCOME_FILE)
DIMENSIONS = ("segment", "scenario", "product")
COUNT_COLUMNS = ["group", "customers", "conversions", "revenue_sum", "revenue_sumsq", "matched"]


@dataclass(frozen=True)
class SalesWindow:
    """The sales lines that can count for a campaign (the ``inferred`` source).

    Attributes:
        start, end: local times, ``start <= invoice_date < end``.
        families: None to match the offered product itself; else family number -> product keys
            (:func:`crm_core.outcomes.attribution.family_keys`), to match any product of the family.
    """

    start: dt.datetime
    end: dt.datetime
    families: dict[int, list[int]] | None = None


def group_counts(db, campaign_id: int, *, source: str, window: SalesWindow | None = None,
                 by: str | None = None) -> pd.DataFrame:
    """Customers, conversions and revenue per group (and per value of ``by``) of an exported campaign.

    Args:
        db: the Database.
        campaign_id: the campaign.
        source: ``inferred`` (needs ``window``) or ``file``.
        window: the sales window of the inferred source.
        by: None, ``segment`` (the stratum stored with the member), ``scenario`` or ``product``
            (of the customer's first offer in the campaign; ``product`` is the product key).
    Returns:
        Columns ``value`` (with ``by``), then :data:`COUNT_COLUMNS`: ``revenue_sum`` and
        ``revenue_sumsq`` (the sum of squares, for the variance) in major units, ``matched`` the
        customers with a matching sales line (inferred) or an outcome row (file). With the file
        source, ``attrs["revenue_known"]`` says whether any outcome row had a revenue.
    """
    with db.read() as s:
        campaign = _campaign(s, campaign_id)
        factor = minor_factor(s, campaign.workspace_id)
    per_member = _per_member(campaign, source, window)
    m = per_member.c
    value = {"segment": m.segment, "scenario": Offer.scenario, "product": Offer.product_id}.get(by)
    if by is not None and value is None:
        raise ValidationError(f"Results can be split by {', '.join(DIMENSIONS)}, not {by!r}.")
    keys = ([value.label("value")] if value is not None else []) + [m.group]
    stmt = select(*keys, func.count().label("customers"), func.coalesce(func.sum(m.converted), 0),
                  func.coalesce(func.sum(m.revenue), 0), func.coalesce(func.sum(cast(m.revenue, Float) * m.revenue), 0),
                  func.coalesce(func.sum(m.in_file), 0))
    if by in ("scenario", "product"):
        stmt = stmt.select_from(per_member).outerjoin(Offer, Offer.id == m.offer_id)
    stmt = stmt.group_by(*keys[:-1], m.group)
    with db.read() as s:
        rows = s.execute(stmt).all()
        known = True if source == INFERRED else bool(s.scalar(
            select(func.count()).select_from(_file_rows(campaign_id).where(Outcome.revenue_minor.is_not(None))
                                             .subquery())))
    frame = pd.DataFrame(rows, columns=(["value"] if value is not None else []) + COUNT_COLUMNS)
    frame = frame.astype({"group": "string", "customers": "int64", "conversions": "int64", "matched": "int64"})
    frame["revenue_sum"] = frame["revenue_sum"].astype("float64") / factor
    frame["revenue_sumsq"] = frame["revenue_sumsq"].astype("float64") / factor ** 2
    frame.attrs["revenue_known"] = known
    sort = (["value"] if value is not None else []) + ["group"]
    return frame.sort_values(sort, kind="mergesort", na_position="last").reset_index(drop=True)


def conversions_by_day(db, campaign_id: int, *, source: str, window: SalesWindow | None = None) -> pd.DataFrame:
    """First conversions per day and group: the day of a customer's first converting sale (or response).

    Returns:
        Columns ``day`` (datetime64, midnight), ``group`` and ``conversions`` (int64), by day.
    """
    with db.read() as s:
        per_member = _per_member(_campaign(s, campaign_id), source, window)
    m = per_member.c
    day = func.date(m.first_at).label("day")
    stmt = (select(day, m.group, func.count()).where(m.converted == 1, m.first_at.is_not(None))
            .group_by(day, m.group).order_by(day, m.group))
    with db.read() as s:
        rows = s.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["day", "group", "conversions"])
    frame["day"] = pd.to_datetime(frame["day"].astype("string")).astype("datetime64[ns]")
    return frame.astype({"group": "string", "conversions": "int64"})


def source_comparison(db, campaign_id: int, *, window: SalesWindow) -> pd.DataFrame:
    """The outcome file against the inferred conversions, per group.

    Returns:
        One row per measured group: ``group, customers, in_file`` (customers with an outcome row),
        ``file_converted, inferred_converted, both, file_only, inferred_only`` (int64).
    """
    with db.read() as s:
        campaign = _campaign(s, campaign_id)
    inferred = _per_member(campaign, INFERRED, window)
    filed = _per_member(campaign, OUTCOME_FILE, None)
    i, f = inferred.c, filed.c
    stmt = (select(i.group, func.count(), func.sum(f.in_file), func.sum(f.converted), func.sum(i.converted),
                   func.sum(i.converted * f.converted), func.sum(f.converted * (1 - i.converted)),
                   func.sum(i.converted * (1 - f.converted)))
            .select_from(inferred).join(filed, filed.c.customer_id == i.customer_id).group_by(i.group)
            .order_by(i.group))
    with db.read() as s:
        rows = s.execute(stmt).all()
    columns = ["group", "customers", "in_file", "file_converted", "inferred_converted", "both", "file_only",
               "inferred_only"]
    frame = pd.DataFrame(rows, columns=columns).fillna(0)
    return frame.astype({"group": "string", **{c: "int64" for c in columns[1:]}})


def run_funnel(db, run_id: int) -> dict[str, int]:
    """Customers at the first three steps of a run's funnel.

    Returns:
        ``proposed`` (customers with an offer of the run), ``approved`` (with an offer a manager
        approved, exported ones included) and ``exported`` (in the treatment group of one of the
        run's exported campaigns).
    """
    contacted = (select(CampaignMember.customer_id).distinct().join(Campaign, Campaign.id == CampaignMember.campaign_id)
                 .where(Campaign.run_id == run_id, CampaignMember.group == TREATMENT).subquery())
    with db.read() as s:
        proposed, approved = s.execute(select(
            func.count(distinct(Offer.customer_id)),
            func.count(distinct(case((Offer.state.in_(("approved", "exported")), Offer.customer_id)))))
            .where(Offer.run_id == run_id, Offer.state != "superseded")).one()
        exported = s.scalar(select(func.count()).select_from(contacted))
    return {"proposed": int(proposed or 0), "approved": int(approved or 0), "exported": int(exported or 0)}


def offer_component_sums(db, campaign_id: int, *, window: SalesWindow) -> pd.DataFrame:
    """Score components of the campaign's exported offers, split by whether each offer converted.

    An offer converted when its customer bought its product (or family) in the window.

    Returns:
        One row per ``converted`` (bool) and component: ``n`` (offers with that component),
        ``total`` and ``total_sq`` (sum and sum of squares of the component).
    """
    with db.read() as s:
        campaign = _campaign(s, campaign_id)
    t = Transaction
    # The (customer, product or family) pairs bought in the window, found from the window's lines once;
    # each offer then looks its pair up (linear, where a per-offer search of the sales would not be).
    # (GROUP BY, not DISTINCT: SQLite then indexes the pairs for the lookup instead of scanning them per offer.)
    key = _key(t.product_id, window.families)
    bought = (select(t.customer_id.label("customer_id"), key.label("k"))
              .where(t.workspace_id == campaign.workspace_id, t.invoice_date >= window.start,
                     t.invoice_date < window.end, t.amount_minor > 0, t.is_return.is_(False),
                     t.customer_id.is_not(None))
              .group_by(t.customer_id, key).subquery())
    components = [Offer.components_json[c].as_float().label(c) for c in COMPONENTS]
    offers = (select(case((bought.c.customer_id.is_(None), 0), else_=1).label("converted"), *components)
              .join(CampaignOffer, CampaignOffer.offer_id == Offer.id)
              .join(CampaignMember, and_(CampaignMember.campaign_id == CampaignOffer.campaign_id,
                                         CampaignMember.customer_id == Offer.customer_id))
              .outerjoin(bought, and_(bought.c.customer_id == Offer.customer_id,
                                      bought.c.k == _key(Offer.product_id, window.families)))
              .where(CampaignOffer.campaign_id == campaign.id, CampaignMember.group == TREATMENT,
                     Offer.state == "exported").subquery())
    o = offers.c
    sums = [f(x) for name in COMPONENTS for x, f in ((o[name], func.count), (o[name], func.sum),
                                                      (o[name] * o[name], func.sum))]
    with db.read() as s:
        found = s.execute(select(o.converted, *sums).group_by(o.converted)).all()
    rows = []
    for converted, *values in found:
        for i, name in enumerate(COMPONENTS):
            n, total, total_sq = values[3 * i:3 * i + 3]
            rows.append((bool(converted), name, int(n or 0), float(total or 0.0), float(total_sq or 0.0)))
    return pd.DataFrame(rows, columns=["converted", "component", "n", "total", "total_sq"])


# --------------------------------------------------------------------------- per customer, in SQL


def _per_member(campaign: "_Campaign", source: str, window: SalesWindow | None):
    """Subquery, one row per measured customer: ``customer_id, group, segment, offer_id, converted (0/1),
    revenue (minor), first_at, in_file`` (1 when a line or row matched, else 0)."""
    if source not in SOURCES:
        raise ValidationError(f"Outcomes come from {' or '.join(SOURCES)}, not {source!r}.")
    if source == INFERRED and window is None:
        raise ValidationError("Inferred conversions need the sales window of the campaign.")
    hits = _inferred_hits(campaign, window) if source == INFERRED else _file_hits(campaign.id)
    m = CampaignMember
    revenue = func.coalesce(hits.c.revenue, 0)
    return (select(m.customer_id, m.group, m.segment, m.offer_id,
                   func.coalesce(hits.c.converted, 0).label("converted"),
                   case((revenue > 0, revenue), else_=0).label("revenue"), hits.c.first_at,
                   case((hits.c.customer_id.is_(None), 0), else_=1).label("in_file"))
            .outerjoin(hits, hits.c.customer_id == m.customer_id)
            .where(m.campaign_id == campaign.id, m.group.in_(MEASURED_GROUPS)).subquery())


def _inferred_hits(campaign: "_Campaign", window: SalesWindow):
    """Per customer with a matching line in the window: converted, net revenue, first converting sale.

    Driven by the window's sales lines (the workspace-and-date index), each checked against the
    customer's offers of the campaign (the run-and-customer index of offers): linear in the lines of
    the window. Joining the other way round would read every line of the window once per customer.
    """
    t = Transaction
    offered = exists().where(Offer.run_id == campaign.run_id, Offer.customer_id == t.customer_id,
                             _key(Offer.product_id, window.families) == _key(t.product_id, window.families),
                             CampaignOffer.offer_id == Offer.id, CampaignOffer.campaign_id == campaign.id)
    sale = and_(t.amount_minor > 0, t.is_return.is_(False))
    return (select(t.customer_id.label("customer_id"), func.max(case((sale, 1), else_=0)).label("converted"),
                   func.sum(t.amount_minor).label("revenue"),
                   func.min(case((sale, t.invoice_date))).label("first_at"))
            .where(t.workspace_id == campaign.workspace_id, t.invoice_date >= window.start,
                   t.invoice_date < window.end, t.customer_id.is_not(None), offered)
            .group_by(t.customer_id).subquery())


def _file_rows(campaign_id: int):
    """The outcome rows of a campaign: linked to it, or to one of its offers."""
    offers = select(CampaignOffer.offer_id).where(CampaignOffer.campaign_id == campaign_id)
    return select(Outcome).where(or_(Outcome.campaign_id == campaign_id, Outcome.offer_id.in_(offers)))


def _file_hits(campaign_id: int):
    """Per customer with an outcome row for the campaign: converted, revenue, first conversion."""
    rows = _file_rows(campaign_id).subquery()
    converted = rows.c.converted.is_(True)
    return (select(rows.c.customer_id.label("customer_id"), func.max(case((converted, 1), else_=0)).label("converted"),
                   func.sum(func.coalesce(rows.c.revenue_minor, 0)).label("revenue"),
                   func.min(case((converted, rows.c.responded_at))).label("first_at"))
            .group_by(rows.c.customer_id).subquery())


def _key(column, families: dict[int, list[int]] | None):
    """What a product counts as: itself, or its family's number (NULL outside the offered families).

    The product keys are written into the statement (``literal_execute``): a family may hold
    more products than a statement may bind parameters.
    """
    if families is None:
        return column
    if not families:
        return literal(None)
    return case(*[(column.in_(bindparam(None, pks, expanding=True, literal_execute=True)), number)
                  for number, pks in sorted(families.items())])


class _Campaign(NamedTuple):
    id: int
    workspace_id: int
    run_id: int | None


def _campaign(s, campaign_id: int) -> _Campaign:
    """The campaign's keys (NotFound naming it when there is none)."""
    row = s.execute(select(Campaign.workspace_id, Campaign.run_id).where(Campaign.id == campaign_id)).first()
    if row is None:
        raise NotFound(f"There is no campaign #{campaign_id}: see the Campaigns page for the workspace's campaigns.")
    return _Campaign(int(campaign_id), row[0], row[1])


def workspace_timezone(db, workspace_id: int) -> str:
    """The workspace's IANA time zone (its sales lines are in local time)."""
    with db.read() as s:
        return s.scalar(select(Workspace.timezone).where(Workspace.id == workspace_id)) or "UTC"


def product_keys(db, workspace_id: int) -> list[int]:
    """The keys of every product of the workspace, in order."""
    with db.read() as s:
        return [int(pk) for pk in s.scalars(select(Product.id).where(Product.workspace_id == workspace_id)
                                             .order_by(Product.id))]


def offered_product_keys(db, campaign_id: int) -> set[int]:
    """The keys of the products the campaign's offers propose."""
    with db.read() as s:
        return {int(pk) for pk in s.scalars(select(Offer.product_id).distinct()
                                             .join(CampaignOffer, CampaignOffer.offer_id == Offer.id)
                                             .where(CampaignOffer.campaign_id == campaign_id))}


def offer_states(db, run_id: int) -> pd.DataFrame:
    """Offers of a run per scenario, audit-gate verdict and review state.

    Returns:
        Columns ``scenario, gate, state`` (string) and ``offers`` (int64), most offers first.
    """
    with db.read() as s:
        rows = s.execute(select(Offer.scenario, Offer.gate, Offer.state, func.count())
                         .where(Offer.run_id == run_id).group_by(Offer.scenario, Offer.gate, Offer.state)).all()
    frame = pd.DataFrame(rows, columns=["scenario", "gate", "state", "offers"])
    frame = frame.astype({"scenario": "string", "gate": "string", "state": "string", "offers": "int64"})
    return frame.sort_values(["offers", "scenario", "gate", "state"], ascending=[False, True, True, True],
                             kind="mergesort").reset_index(drop=True)
