"""Store validated master data: customers (with dated attributes), products (with aliases),
holdings and outcomes. Runs inside the caller's unit of work (all or nothing)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, delete, func, insert, select, update

from crm_core.ingest.issues import WARNING, IssueLog
from crm_core.ingest.load import (ensure_customers, ensure_products, follow_merges_of, objects, product_aliases,
                                  python_datetimes, resolve_aliases)
from crm_core.store.models import (Campaign, CampaignOffer, Customer, CustomerAttribute, Holding, Offer, Outcome,
                                   Product, ProductAlias, Transaction)

CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "region", "city", "tags")
DATED_ATTRIBUTES = ("email_opt_in", "do_not_contact", "last_contacted_at")


def _update_given(session, model, pk_col: str, records: list[dict], fields: list[str]) -> None:
    """UPDATE each row's given (non-null) fields; a missing value keeps what is stored."""
    if not records or not fields:
        return
    table = model.__table__
    values = {f: func.coalesce(bindparam(f"v_{f}", type_=table.c[f].type), table.c[f]) for f in fields}
    stmt = update(table).where(table.c[pk_col] == bindparam("pk")).values(**values)
    session.connection().execute(stmt, [{"pk": r["pk"], **{f"v_{f}": r.get(f) for f in fields}} for r in records])


def _dates(values: pd.Series) -> list:
    return [None if pd.isna(v) else v.date() for v in values]


def insert_customers(session, *, workspace_id: int, batch_id: int, rows: pd.DataFrame, mapped: set[str],
                   imported_at: dt.datetime) -> int:
    """Upsert customers and add their dated attributes; returns rows stored.

    A merged-away code updates its own record's fields, but its consent, do-not-contact and last
    contact go to the record it was merged into (the person the next run and the gate see).
    """
    pks = ensure_customers(session, workspace_id, rows["customer_id"], follow_merges=False)
    living = follow_merges_of(session, workspace_id, pks)
    fields = [f for f in CUSTOMER_FIELDS if f in mapped]
    cols = {f: (_dates(rows[f]) if f == "birth_date" else objects(rows[f])) for f in fields}
    records = [{"pk": pks[c], **{f: cols[f][i] for f in fields}} for i, c in enumerate(rows["customer_id"])]
    _update_given(session, Customer, "id", records, fields)
    effective = rows["effective_date"].fillna(pd.Timestamp(imported_at))
    parts = []
    for attr in DATED_ATTRIBUTES:
        if attr not in mapped:
            continue
        given = rows[attr].notna()
        if attr == "last_contacted_at":
            when = rows[attr]  # a contact takes effect the day it happened
            text = rows[attr].dt.strftime("%Y-%m-%d %H:%M:%S")
        else:
            when = effective
            text = rows[attr].map({True: "true", False: "false"})
        parts.append(pd.DataFrame({"customer_pk": rows["customer_id"].map(living), "attribute": attr,
                                   "value": text, "effective_from": when})[given.to_numpy(bool)])
    if parts:
        new = pd.concat(parts, ignore_index=True)
        new = _changed_only(session, workspace_id, new)
        if len(new):
            session.execute(insert(CustomerAttribute), [
                {"workspace_id": workspace_id, "customer_id": int(pk), "attribute": a, "value": v,
                 "effective_from": w, "batch_id": batch_id}
                for pk, a, v, w in zip(new["customer_pk"], new["attribute"], new["value"],
                                       python_datetimes(new["effective_from"]))])
    return len(rows)


def _changed_only(session, workspace_id: int, new: pd.DataFrame) -> pd.DataFrame:
    """Drop attribute values equal to the value already in effect at their date."""
    stored = pd.DataFrame(session.execute(
        select(CustomerAttribute.customer_id, CustomerAttribute.attribute, CustomerAttribute.value,
               CustomerAttribute.effective_from).where(CustomerAttribute.workspace_id == workspace_id)).all(),
        columns=["customer_pk", "attribute", "value", "effective_from"])
    if stored.empty:
        return new
    stored["effective_from"] = pd.to_datetime(stored["effective_from"]).astype("datetime64[ns]")
    latest = (stored.sort_values("effective_from", kind="mergesort")
              .drop_duplicates(["customer_pk", "attribute"], keep="last")
              .rename(columns={"value": "current", "effective_from": "since"}))
    merged = new.merge(latest, on=["customer_pk", "attribute"], how="left")
    same = (merged["current"].astype("string") == merged["value"].astype("string")).fillna(False) & \
        (merged["since"] <= merged["effective_from"]).fillna(False)
    return new[~same.to_numpy(bool)]


def insert_products(session, *, workspace_id: int, rows: pd.DataFrame, mapped: set[str], non_merchandise: set[str],
                  log: IssueLog) -> int:
    """Upsert catalog products, declare aliases and fold products known under an alias into theirs."""
    pks = ensure_products(session, workspace_id, rows["product_id"], rows["name"], non_merchandise)
    fields = [f for f in ("name", "family", "price_minor", "unit_cost_minor", "margin_rate") if
              f.replace("_minor", "").replace("_rate", "") in mapped or (f == "margin_rate" and "margin" in mapped)]
    cols = {f: objects(rows[f]) for f in fields}
    records = [{"pk": pks[c], **{f: cols[f][i] for f in fields}} for i, c in enumerate(rows["product_id"])]
    _update_given(session, Product, "id", records, fields)
    flags = [{"pk": pks[c], "active": bool(a), "merch": bool(m), "cat": True}
             for c, a, m in zip(rows["product_id"], rows["active"], rows["is_merchandise"])]
    table = Product.__table__
    session.connection().execute(update(table).where(table.c.id == bindparam("pk")).values(
        active=bindparam("v_active"), is_merchandise=bindparam("v_merch"), in_catalog=bindparam("v_cat")),
        [{"pk": f["pk"], "v_active": f["active"], "v_merch": f["merch"], "v_cat": f["cat"]} for f in flags])
    if "aliases" in mapped:
        _declare_aliases(session, workspace_id, rows, pks, log)
    return len(rows)


def _declare_aliases(session, workspace_id: int, rows: pd.DataFrame, pks: dict[str, int], log: IssueLog) -> None:
    pairs = rows[["product_id", "aliases"]].dropna()
    if pairs.empty:
        return
    exploded = pairs.assign(alias=pairs["aliases"].str.split(r"[;,|]", regex=True)).explode("alias")
    exploded["alias"] = exploded["alias"].str.strip().str.upper()
    exploded = exploded[(exploded["alias"] != "") & (exploded["alias"] != exploded["product_id"])]
    existing = dict(session.execute(select(ProductAlias.alias_code, ProductAlias.id)
                                    .where(ProductAlias.workspace_id == workspace_id)).all())
    stubs = dict(session.execute(select(Product.product_code, Product.id).where(
        Product.workspace_id == workspace_id, Product.in_catalog.is_(False))).all())
    for line, code, alias in zip(exploded.index, exploded["product_id"], exploded["alias"]):
        target = pks[code]
        if alias in existing:
            session.execute(update(ProductAlias).where(ProductAlias.id == existing[alias]).values(product_id=target))
        else:
            session.execute(insert(ProductAlias).values(workspace_id=workspace_id, alias_code=alias, product_id=target))
        stub = stubs.get(alias)
        if stub is not None and stub != target:  # lines loaded under the alias move to the product
            session.execute(update(Transaction).where(Transaction.product_id == stub).values(product_id=target))
            session.execute(update(Holding).where(Holding.product_id == stub).values(product_id=target))
            session.execute(delete(Product).where(Product.id == stub))


def insert_holdings(session, *, workspace_id: int, batch_id: int, rows: pd.DataFrame, non_merchandise: set[str],
                  log: IssueLog) -> tuple[int, int]:
    """Insert holdings (customers and products created when new); identical loaded ones are skipped."""
    customers = ensure_customers(session, workspace_id, rows["customer_id"])
    product = resolve_aliases(rows["product_id"], product_aliases(session, workspace_id))
    products = ensure_products(session, workspace_id, product, None, non_merchandise)
    frame = pd.DataFrame({"customer_pk": rows["customer_id"].map(customers), "product_pk": product.map(products),
                          "opened_at": rows["opened_at"].dt.normalize()}, index=rows.index)
    stored = pd.DataFrame(session.execute(select(Holding.customer_id, Holding.product_id, Holding.opened_at)
                                          .where(Holding.workspace_id == workspace_id)).all(),
                          columns=["customer_pk", "product_pk", "opened_at"])
    skip = np.zeros(len(frame), dtype=bool)
    if len(stored):
        stored["opened_at"] = pd.to_datetime(stored["opened_at"]).astype("datetime64[ns]")
        key = ["customer_pk", "product_pk", "opened_at"]
        hit = frame.reset_index().merge(stored.drop_duplicates(), on=key, how="inner")["line"]
        skip = frame.index.isin(hit.to_numpy())
        log.add(frame.index[skip], None, WARNING, "same_as_loaded")
    keep = ~skip
    sel, f = rows.loc[keep], frame.loc[keep]
    records = [{"workspace_id": workspace_id, "batch_id": batch_id, "customer_id": int(c), "product_id": int(p),
                "opened_at": o, "closed_at": cl, "balance_minor": b}
               for c, p, o, cl, b in zip(f["customer_pk"], f["product_pk"], _dates(sel["opened_at"]),
                                         _dates(sel["closed_at"]), objects(sel["balance_minor"]))]
    if records:
        session.execute(insert(Holding), records)
    return int(keep.sum()), int(skip.sum())


OUTCOME_MESSAGES = {
    "unknown_customer": "no such customer in this workspace: not loaded (an outcome belongs to a known customer)",
    "ambiguous_campaign": "more than one campaign of this workspace has this name: kept without a campaign "
                          "(write its id instead, e.g. #12)",
    "offer_of_another_customer": "this offer was made to another customer: kept without the offer",
    "offer_not_in_campaign": "this offer is not in the campaign named on the line: kept without the offer",
}
_ID_TEXT = r"^#?\s*(\d{1,18})(?:\.0+)?$"  # 12, #12, 12.0 (a spreadsheet's number)
IDS_PER_QUERY = 10_000  # bound parameters per IN list (SQLite allows 32,766)


def insert_outcomes(session, *, workspace_id: int, batch_id: int, rows: pd.DataFrame, log: IssueLog) -> int:
    """Insert the outcomes of the workspace's customers, linked to their campaign and offer.

    How a line is linked:

    * its campaign is named by the ``campaign`` cell or, on a line without one, by the
      ``reference`` cell: a campaign id (``12``, ``#12``) or name (case and spacing ignored) of
      this workspace. A name two campaigns share links nothing (warned); an unknown campaign cell is
      warned, an unknown reference is kept as the reference (it may be the mailing tool's own code);
    * its offer is named by the ``offer_id`` cell or, when neither cell named a campaign, by the
      reference: the id of an offer of this workspace *made to the line's customer* (another
      customer's offer is not linked: warned for the offer cell). A line that names only an offer
      gets the offer's campaign; an offer outside the campaign the line names is not linked (warned);
    * ``responded`` is true when the line has a response date or a conversion, unknown otherwise.

    Lines of customers the workspace does not know are not loaded (warned): an outcome is about a
    customer the campaigns could have reached, and a typo must not create a customer.

    Returns:
        The number of outcomes stored.
    """
    known = follow_merges_of(session, workspace_id, dict(session.execute(
        select(Customer.customer_code, Customer.id).where(Customer.workspace_id == workspace_id)).all()))
    customer = rows["customer_id"].map(known)  # a merged-away code: the record it was merged into
    unknown = customer.isna().to_numpy(bool)
    _warn(log, rows, unknown, "customer_id", "unknown_customer")
    rows, customer = rows.loc[~unknown], customer.loc[~unknown].astype("int64")
    if rows.empty:
        return 0
    named = rows["campaign"].notna().to_numpy(bool)
    campaign_text = rows["campaign"].where(named, rows["reference"])
    campaign, ambiguous = _campaigns_named(session, workspace_id, campaign_text)
    _warn(log, rows, named & ~ambiguous & campaign.isna().to_numpy(bool), "campaign", "unknown_campaign")
    _warn(log, rows, ambiguous & named, "campaign", "ambiguous_campaign")
    _warn(log, rows, ambiguous & ~named, "reference", "ambiguous_campaign")
    offer_cell = rows["offer_id"].notna().to_numpy(bool)
    by_reference = ~offer_cell & ~named & campaign.isna().to_numpy(bool) & ~ambiguous
    offer_text = rows["offer_id"].where(offer_cell, rows["reference"].where(by_reference))
    offer, offer_customer, offer_campaign = _offers_named(session, workspace_id, offer_text)
    found = offer.notna().to_numpy(bool)
    _warn(log, rows, offer_cell & ~found, "offer_id", "unknown_offer")
    others = found & (offer_customer.to_numpy(dtype="float64") != customer.to_numpy(dtype="float64"))
    _warn(log, rows, others & offer_cell, "offer_id", "offer_of_another_customer")
    given = campaign.notna().to_numpy(bool)
    outside = found & ~others & given & (offer_campaign.to_numpy(dtype="float64")
                                         != campaign.to_numpy(dtype="float64"))
    _warn(log, rows, outside & offer_cell, "offer_id", "offer_not_in_campaign")
    offer = offer.mask(others | outside)
    campaign = campaign.fillna(offer_campaign.where(offer.notna()))
    responded = rows["responded_at"].notna() | rows["converted"].astype(bool)
    records = [{"workspace_id": workspace_id, "batch_id": batch_id, "customer_id": int(c),
                "campaign_id": None if pd.isna(cp) else int(cp), "offer_id": None if pd.isna(op) else int(op),
                "reference": ref, "responded_at": when, "converted": bool(conv), "revenue_minor": rev,
                "responded": True if r else None}
               for c, cp, op, ref, when, conv, rev, r in zip(
                   customer, campaign, offer, objects(rows["reference"]), python_datetimes(rows["responded_at"]),
                   rows["converted"], objects(rows["revenue_minor"]), responded)]
    for start in range(0, len(records), IDS_PER_QUERY):
        session.execute(insert(Outcome), records[start:start + IDS_PER_QUERY])
    return len(records)


def _warn(log: IssueLog, rows: pd.DataFrame, mask: np.ndarray, column: str, code: str) -> None:
    """A warning on the lines of ``mask``, with the cell's value."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        log.add(rows.index[mask], column, WARNING, code, rows[column][mask], message=OUTCOME_MESSAGES.get(code))


def _id_numbers(texts: pd.Series) -> pd.Series:
    """The id each text writes (``12``, ``#12``, ``12.0``) as float, NaN where it writes none."""
    digits = texts.astype("string").str.extract(_ID_TEXT, expand=False)
    return pd.to_numeric(digits, errors="coerce").astype("float64")


def _campaigns_named(session, workspace_id: int, texts: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``(campaign key or NaN, ambiguous mask)`` of each text: a campaign id or name of the workspace."""
    by_name: dict[str, set[int]] = {}
    ids: set[int] = set()
    for pk, name in session.execute(select(Campaign.id, Campaign.name).where(Campaign.workspace_id == workspace_id)):
        ids.add(pk)
        by_name.setdefault(_name_key(name), set()).add(pk)
    numbers = _id_numbers(texts)
    resolved: dict[str, float] = {}
    ambiguous_texts: set[str] = set()
    for text, number in zip(texts, numbers):
        if pd.isna(text) or text in resolved or text in ambiguous_texts:
            continue
        candidates = set(by_name.get(_name_key(text), ()))
        if not np.isnan(number) and int(number) in ids:
            candidates.add(int(number))
        if len(candidates) > 1:
            ambiguous_texts.add(text)
        else:
            resolved[text] = float(candidates.pop()) if candidates else np.nan
    campaign = pd.Series([resolved.get(t, np.nan) if not pd.isna(t) else np.nan for t in texts],
                         index=texts.index, dtype="float64")
    return campaign, texts.isin(ambiguous_texts).fillna(False).to_numpy(bool)


def _name_key(name: str) -> str:
    """A campaign name as compared: spacing collapsed, case folded."""
    return " ".join(str(name).split()).casefold()


def _offers_named(session, workspace_id: int, texts: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(offer key, its customer key, its campaign key)`` per text (NaN where no offer of the workspace)."""
    numbers = _id_numbers(texts)
    wanted = sorted({int(n) for n in numbers.dropna()})
    customers: dict[int, int] = {}
    campaigns: dict[int, int] = {}
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start:start + IDS_PER_QUERY]
        customers.update(session.execute(select(Offer.id, Offer.customer_id).where(
            Offer.workspace_id == workspace_id, Offer.id.in_(chunk))).all())
        campaigns.update(session.execute(select(CampaignOffer.offer_id, CampaignOffer.campaign_id)
                                         .where(CampaignOffer.offer_id.in_(chunk))
                                         .order_by(CampaignOffer.campaign_id.desc())).all())
    offer = numbers.where(numbers.isin(list(customers)))
    return (offer, offer.map(customers).astype("float64"),
            offer.map(campaigns).astype("float64"))
