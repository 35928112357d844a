"""The demo retailer: ~5,000 customers, ~60,000 lines over 3 years, 150 products.

Customers have a life cycle (a first purchase spread over the years and a
lifetime after which they stop: new, loyal, lapsing and lost customers fall
out of it), a heaviness (heavy and light buyers), two favourite families and
a taste for premium products. Replenishable products are bought again at a
personal interval around the family's typical one; the other lines of a
basket come from the favourite families and from families bought together.
Everything is drawn with numpy over whole arrays; no loop over customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from crm_core.demo.people import draw_consent, draw_people
from crm_core.demo.retail_catalog import FAMILIES, build_products, family_affinity
from crm_core.demo.retail_dirt import add_dirty_rows
from crm_core.demo.sampling import pick_from_rows, positions_within, row_cumulative
from crm_core.demo.timeline import RETAIL_MONTHS, RETAIL_WEEKDAYS, Calendar, shop_minutes
from crm_core.demo.world import CUSTOMER_FILE_COLUMNS, PRODUCT_COLUMNS, DemoArgumentError, DemoWorld, empty_holdings

FIRST_CUSTOMER_ID = 10001
FIRST_INVOICE = 500001
ANONYMOUS_SHARE = 0.03  # share of lines sold to nobody known (walk-in store sales)
DIRT_SHARE = 0.012  # lines the dirty-row pass adds (cancellations, returns, postage)
REBUY_SHARE_CAP = 0.35  # replenishment orders take at most this share of the lines
CHANNELS = np.array(["online", "store", "phone"])


@dataclass(frozen=True)
class RetailProfiles:
    """Per-customer behaviour drawn once; arrays of one length."""

    buyer: np.ndarray  # has purchases at all (a few registered customers never bought)
    first_day: np.ndarray
    last_day: np.ndarray  # last day the customer is active
    heaviness: np.ndarray
    one_off: np.ndarray
    fav1: np.ndarray
    fav2: np.ndarray
    premium: np.ndarray  # probability a line is a premium product
    channel: np.ndarray


class _Catalog:
    """Lookup tables over the products frame for vectorised picking."""

    def __init__(self, products: pd.DataFrame):
        self.products = products
        n_fam = len(FAMILIES)
        fam = products["family_index"].to_numpy()
        premium = products["premium"].to_numpy()
        weight = products["weight"].to_numpy()
        self.price = products["price"].to_numpy()
        self.family = fam
        self.tables = {}
        for is_premium in (False, True):
            members = [np.flatnonzero((fam == f) & (premium == is_premium)) for f in range(n_fam)]
            width = max(len(m) for m in members)
            idx = np.zeros((n_fam, width), dtype=np.int64)
            w = np.zeros((n_fam, width))
            for f, m in enumerate(members):
                idx[f, :len(m)] = m
                w[f, :len(m)] = weight[m]
            self.tables[is_premium] = (idx, row_cumulative(w))
        self.top_product = self.tables[False][0][:, 0]
        pop = np.array([f.popularity for f in FAMILIES])
        self.family_cum = np.cumsum(pop / pop.sum())
        self.family_cum[-1] = 1.0
        self.affinity_cum = row_cumulative(family_affinity())
        self.rebuy_days = np.array([f.rebuy_days or 0 for f in FAMILIES])

    def pick(self, rng: np.random.Generator, family: np.ndarray, premium: np.ndarray) -> np.ndarray:
        """A product index per line, from its family and tier, by popularity."""
        out = np.empty(len(family), dtype=np.int64)
        for is_premium in (False, True):
            mask = premium == is_premium
            idx, cum = self.tables[is_premium]
            col = pick_from_rows(rng, cum, family[mask])
            out[mask] = idx[family[mask], col]
        return out

    def popular_family(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Families drawn by overall popularity."""
        return np.searchsorted(self.family_cum, rng.random(n), side="right").clip(0, len(FAMILIES) - 1)


def draw_profiles(rng: np.random.Generator, n: int, n_days: int, catalog: _Catalog) -> RetailProfiles:
    """Draw the behaviour of ``n`` customers over a world of ``n_days`` days."""
    buyer = rng.random(n) >= 0.03
    existing = rng.random(n) < 0.25  # already customers when the data starts
    first = np.where(existing, rng.integers(0, 60, n), (n_days * rng.random(n) ** 1.1).astype(np.int64))
    first = np.minimum(first, n_days - 1)
    heaviness = rng.lognormal(0.0, 0.9, n)
    one_off = rng.random(n) < 0.30
    lifetime = rng.exponential(420.0 * heaviness ** 0.4) + 30
    last = np.minimum(n_days - 1, first + lifetime.astype(np.int64))
    last = np.where(one_off, first, last)
    fav1 = catalog.popular_family(rng, n)
    partner = pick_from_rows(rng, catalog.affinity_cum, fav1)
    fav2 = np.where(rng.random(n) < 0.5, partner, catalog.popular_family(rng, n))
    fav2 = np.where(fav2 == fav1, (fav1 + 1) % len(FAMILIES), fav2)
    premium_lover = rng.random(n) < (0.08 + 0.30 * (heaviness > 1.5))
    premium = np.where(premium_lover, 0.45, 0.04)
    channel = rng.choice(3, size=n, p=[0.55, 0.35, 0.10])
    return RetailProfiles(buyer, first, last, heaviness, one_off, fav1, fav2, premium, channel)


def _rebuy_orders(rng, prof: RetailProfiles, catalog: _Catalog, line_budget: float):
    """Replenishment orders: (customer, day, product) at each customer's personal interval."""
    rebuy = catalog.rebuy_days
    fam = np.where(rebuy[prof.fav1] > 0, prof.fav1, prof.fav2)
    adopt = prof.buyer & ~prof.one_off & (rebuy[fam] > 0) & (rng.random(len(fam)) < 0.75)
    cust = np.flatnonzero(adopt)
    fam = fam[cust]
    product = catalog.pick(rng, fam, np.zeros(len(cust), dtype=bool))
    interval = rebuy[fam] * rng.lognormal(0.0, 0.15, len(cust))
    span = prof.last_day[cust] - prof.first_day[cust]
    begin = prof.first_day[cust] + (rng.random(len(cust)) * np.minimum(60, span)).astype(np.int64)
    count = np.floor((prof.last_day[cust] - begin) / interval).astype(np.int64) + 1
    expected_lines = count.sum() * 1.8
    if expected_lines > REBUY_SHARE_CAP * line_budget:  # tiny line budgets: fewer adopters
        keep = rng.random(len(cust)) < REBUY_SHARE_CAP * line_budget / expected_lines
        cust, fam, product, interval, begin, count = (a[keep] for a in (cust, fam, product, interval, begin, count))
    k = positions_within(count)
    rep = np.repeat(np.arange(len(cust)), count)
    day = begin[rep] + np.round(k * interval[rep] + rng.normal(0, 0.08, len(k)) * interval[rep]).astype(np.int64)
    day = np.clip(day, prof.first_day[cust][rep], prof.last_day[cust][rep])
    return cust[rep], day, product[rep]


def _browse_counts(rng, prof: RetailProfiles, basket: np.ndarray, order_budget_lines: float) -> np.ndarray:
    """Number of ordinary orders per customer, scaled so lines meet the budget."""
    span = (prof.last_day - prof.first_day).astype(float)
    weight = np.where(prof.buyer & ~prof.one_off, prof.heaviness * span, 0.0)
    base_lines = (prof.buyer * basket).sum()
    scale = max(0.0, (order_budget_lines - base_lines) / max((weight * basket).sum(), 1e-9))
    return prof.buyer.astype(np.int64) + rng.poisson(scale * weight)


def retail_lines(rng: np.random.Generator, n_customers: int, n_lines: int, calendar: Calendar,
                 products: pd.DataFrame, *, first_customer_id: int = FIRST_CUSTOMER_ID,
                 first_invoice: int = FIRST_INVOICE) -> tuple[pd.DataFrame, RetailProfiles]:
    """Clean transaction lines for ``n_customers`` customers (no dirty rows yet).

    Args:
        rng: seeded generator.
        n_customers: customers to simulate; ids start at ``first_customer_id``.
        n_lines: target number of lines (the result is within a few per cent).
        calendar: the world's days and seasonality.
        products: :func:`build_products` output.
        first_customer_id, first_invoice: offsets so that chunks do not collide.
    Returns:
        (transactions frame with canonical columns, the customers' profiles).
    """
    catalog = _Catalog(products)
    prof = draw_profiles(rng, n_customers, calendar.n_days, catalog)
    r_cust, r_day, r_prod = _rebuy_orders(rng, prof, catalog, n_lines)
    basket = np.minimum(1.0 + 1.6 * prof.heaviness ** 0.35, 8.0)  # mean lines per ordinary order
    known_budget = n_lines * (1 - ANONYMOUS_SHARE - DIRT_SHARE) - len(r_cust) * 1.8
    counts = _browse_counts(rng, prof, basket, known_budget)
    b_cust = np.repeat(np.arange(n_customers), counts)
    first_of = positions_within(counts) == 0
    b_day = calendar.seasonal_days(rng.random(len(b_cust)), prof.first_day[b_cust], prof.last_day[b_cust])
    b_day = np.where(first_of, prof.first_day[b_cust], b_day)
    n_anon = int(n_lines * ANONYMOUS_SHARE / 2.0)
    a_day = calendar.seasonal_days(rng.random(n_anon), np.zeros(n_anon, np.int64),
                                   np.full(n_anon, calendar.n_days - 1))
    # orders: customer (-1 anonymous), day, forced first product (-1 none), mean extra lines
    o_cust = np.concatenate([r_cust, b_cust, np.full(n_anon, -1)])
    o_day = np.concatenate([r_day, b_day, a_day])
    o_forced = np.concatenate([r_prod, np.full(len(b_cust) + n_anon, -1)])
    o_extra = np.concatenate([np.full(len(r_cust), 0.8), basket[b_cust] - 1, np.full(n_anon, 1.0)])
    known = o_cust >= 0
    ch_pref = np.where(known, prof.channel[np.maximum(o_cust, 0)], 1)
    o_channel = np.where(rng.random(len(o_cust)) < 0.85, ch_pref, rng.integers(0, 3, len(o_cust)))
    o_channel = np.where(known, o_channel, 1)  # anonymous sales happen in the store
    minutes = np.where(o_channel == 0, rng.integers(6 * 60, 24 * 60, len(o_cust)), shop_minutes(rng, len(o_cust)))
    o_time = calendar.to_datetime(o_day, minutes)
    order = np.lexsort((np.arange(len(o_cust)), o_time))
    o_cust, o_day, o_forced, o_extra, o_channel, o_time = (
        a[order] for a in (o_cust, o_day, o_forced, o_extra, o_channel, o_time))
    n_orders = len(o_cust)
    invoice = first_invoice + np.arange(n_orders)
    size = 1 + np.minimum(rng.poisson(o_extra), 14)
    line_order = np.repeat(np.arange(n_orders), size)
    pos = positions_within(size)
    lines = _line_products(rng, prof, catalog, o_cust[line_order], o_forced[line_order], pos)
    discontinued = ~products["active"].to_numpy()[lines] & (o_day[line_order] > 365)
    lines = np.where(discontinued, catalog.top_product[catalog.family[lines]], lines)
    # one line per product and invoice, as tills print them
    unique = ~pd.Series(line_order * len(products) + lines).duplicated().to_numpy()
    line_order, pos, lines = line_order[unique], pos[unique], lines[unique]
    price = catalog.price[lines]
    l_time = o_time[line_order]
    month = l_time.astype("datetime64[M]").astype(np.int64) % 12
    on_sale = np.isin(month, (0, 6)) & (rng.random(len(lines)) < 0.3)  # January and July sales
    unit_price = np.where(on_sale, np.round(price * 0.8, 2), price)
    qty_mean = np.where(price < 4, 2.5, np.where(price < 10, 0.6, 0.15))
    quantity = 1 + rng.poisson(qty_mean)
    l_cust = o_cust[line_order]
    wholesale = (l_cust >= 0) & (prof.heaviness[np.maximum(l_cust, 0)] > 4.5)
    quantity = np.where(wholesale & (price < 10), quantity * 6, quantity)
    cust_text = (first_customer_id + np.maximum(l_cust, 0)).astype(str)
    tx = pd.DataFrame({
        "customer_id": pd.array(np.where(l_cust >= 0, cust_text, None), dtype="string"),
        "invoice_id": pd.array(invoice[line_order].astype(str), dtype="string"),
        "invoice_date": l_time,
        "product_id": pd.array(products["product_id"].to_numpy()[lines], dtype="string"),
        "product_name": pd.array(products["name"].to_numpy()[lines], dtype="string"),
        "category": pd.array(products["family"].to_numpy()[lines], dtype="string"),
        "quantity": quantity.astype(np.int64),
        "unit_price": unit_price.astype(np.float64),
        "channel": pd.array(CHANNELS[o_channel[line_order]], dtype="string"),
    })
    return tx, prof


def _line_products(rng, prof, catalog, l_cust, l_forced, pos) -> np.ndarray:
    """Product index per line: forced, else favourite families, basket partners or popular families."""
    n = len(l_cust)
    c = np.maximum(l_cust, 0)
    anon = l_cust < 0
    u = rng.random(n)
    fav = np.where(u < 0.55, prof.fav1[c], prof.fav2[c])
    popular = catalog.popular_family(rng, n)
    first_family = np.where(u < 0.8, fav, popular)
    first_family = np.where(anon, popular, first_family)
    # anchor family of each order = family of its first line
    starts = np.flatnonzero(pos == 0)
    forced_family = catalog.family[np.maximum(l_forced, 0)]
    anchor_of_order = np.where(l_forced[starts] >= 0, forced_family[starts], first_family[starts])
    anchor = anchor_of_order[np.searchsorted(starts, np.arange(n), side="right") - 1]
    partner = pick_from_rows(rng, catalog.affinity_cum, anchor)
    v = rng.random(n)
    later = np.where(v < 0.55, partner, np.where(v < 0.85, fav, popular))
    family = np.where(pos == 0, np.where(l_forced >= 0, forced_family, first_family), later)
    premium = rng.random(n) < np.where(anon, 0.05, prof.premium[c])
    product = catalog.pick(rng, family, premium)
    return np.where((pos == 0) & (l_forced >= 0), l_forced, product)


def retail_customers(rng: np.random.Generator, prof: RetailProfiles, calendar: Calendar,
                     first_customer_id: int = FIRST_CUSTOMER_ID) -> pd.DataFrame:
    """The customers file: people, birth dates, tags, consent and last contact."""
    n = len(prof.buyer)
    people = draw_people(rng, n)
    end = calendar.start + np.timedelta64(calendar.n_days - 1, "D")
    consent = draw_consent(rng, n, end)
    age_days = (np.clip(rng.normal(44, 14, n), 18, 85) * 365.25).astype(np.int64)
    birth = (end - age_days.astype("timedelta64[D]")).astype("datetime64[ns]")
    loyalty = rng.random(n) < np.clip(0.15 + 0.15 * prof.heaviness, 0, 0.9)
    tags = np.where(loyalty, "loyalty-card", "")
    tags = np.where(prof.heaviness > 4.5, np.char.add(tags, np.where(loyalty, ";wholesale", "wholesale")), tags)
    out = pd.DataFrame({"customer_id": pd.array((first_customer_id + np.arange(n)).astype(str), dtype="string")})
    out = pd.concat([out, people], axis=1)
    out["birth_date"] = birth
    out["tags"] = pd.array(np.where(tags == "", None, tags), dtype="string")
    out = pd.concat([out, consent], axis=1)
    return out[list(CUSTOMER_FILE_COLUMNS)]


def generate_retail(seed: int = 7, n_customers: int = 5000, n_lines: int = 60000,
                    start: date = date(2023, 1, 1), years: int = 3) -> DemoWorld:
    """Generate the demo retailer, deterministically from ``seed``.

    Args:
        seed: random seed; the same seed and arguments give equal frames.
        n_customers: customers in the customers file (about 97 % of them buy).
        n_lines: target number of transaction lines (within a few per cent),
            dirty rows included.
        start: first day of the data.
        years: length of the data in years.
    Returns:
        A :class:`DemoWorld` with transactions, customers and products (no holdings).
    Raises:
        DemoArgumentError: when a size is not positive.
    """
    if n_customers < 1 or n_lines < 1 or years < 1:
        raise DemoArgumentError("n_customers, n_lines and years must be positive, e.g. generate_retail(n_customers=5000)")
    rng = np.random.default_rng(seed)
    end = date(start.year + years, start.month, start.day)
    calendar = Calendar(np.datetime64(start), (end - start).days, RETAIL_MONTHS, RETAIL_WEEKDAYS)
    products = build_products()
    tx, prof = retail_lines(rng, n_customers, n_lines, calendar, products)
    tx = add_dirty_rows(rng, tx, calendar)
    customers = retail_customers(rng, prof, calendar)
    return DemoWorld(tx, customers, products[list(PRODUCT_COLUMNS)].copy(), empty_holdings(), name="retail")
