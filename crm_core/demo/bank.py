"""The demo bank: ~5,000 customers, holdings of 22 products, fee and purchase lines.

Age drives the life stage and the life stage drives what people hold: young
digital users with student accounts and credit cards, families with
mortgages, children's savers and life cover, established savers with ISAs
and pensions near retirement, retired customers with deposits; business
owners hold business banking. Income raises premium products. Some customers
leave the bank (all their products closed). Every holding produces a charge
per period while held and its opening is a purchase, so recency, frequency
and money mean something per customer. Vectorised: no loop over customers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from crm_core.demo.bank_catalog import INCOME_BANDS, INCOME_FACTOR, INDEX, LIFE_STAGES, PRODUCTS, bank_products
from crm_core.demo.people import draw_consent, draw_people
from crm_core.demo.sampling import positions_within
from crm_core.demo.timeline import Calendar, shop_minutes
from crm_core.demo.world import CUSTOMER_FILE_COLUMNS, DemoArgumentError, DemoWorld

FIRST_CUSTOMER_NUMBER = 100001  # written with leading zeros: 00100001
CHURN_RATE = 0.07
OPEN = np.iinfo(np.int64).max  # closing day of a holding still open at the end
CHANNELS = np.array(["mobile", "online", "branch", "phone"])
OCCUPATIONS = np.array(["student", "employed", "self-employed", "retired", "homemaker"])


def _draw_demographics(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Age, life stage, occupation, business owner, income band, channel and tenure."""
    age = 18 + rng.beta(1.6, 2.2, n) * 70
    stage = np.digitize(age, [30, 50, 67])
    u = rng.random(n)
    occupation = np.full(n, 1)
    occupation = np.where((age >= 25) & (age < 67) & (u < 0.11), 2, occupation)
    occupation = np.where((age < 24) & (u < 0.6), 0, occupation)
    occupation = np.where(((age >= 67) & (u < 0.9)) | ((age >= 60) & (u < 0.3)), 3, occupation)
    occupation = np.where((occupation == 1) & (rng.random(n) < 0.03), 4, occupation)
    band = np.array([1, 2, 2, 1])[stage] + (occupation == 2) + rng.choice([-1, 0, 0, 1], n)
    band = np.where(occupation == 0, 0, np.clip(band, 0, 4))
    digital = rng.random(n) < np.array([0.8, 0.6, 0.35, 0.15])[stage]
    other = rng.choice([1, 2, 3], size=n, p=[0.45, 0.4, 0.15])
    tenure_years = rng.random(n) ** 1.3 * np.minimum(age - 18, 30)
    return {"age": age, "stage": stage, "occupation": occupation, "business": occupation == 2,
            "band": band, "channel": np.where(digital, 0, other), "tenure_days": (tenure_years * 365.25).astype(np.int64)}


def _draw_holdings(rng: np.random.Generator, demo: dict, n_days: int) -> pd.DataFrame:
    """Who holds what, since when, until when, with which balance (day offsets from the start)."""
    n = len(demo["age"])
    stage_prob = np.array([p.stage_prob for p in PRODUCTS])  # products x stages
    power = np.array([p.income_power for p in PRODUCTS])
    income = np.array(INCOME_FACTOR)[demo["band"]]
    prob = stage_prob[:, demo["stage"]].T * income[:, None] ** power[None, :]
    student = demo["occupation"] == 0
    prob[:, INDEX["CA-STU"]] = np.where(student, 0.9, 0.0)
    prob[:, INDEX["BB-CA"]] = np.where(demo["business"], 0.85, 0.0)
    prob[:, INDEX["BB-LN"]] = np.where(demo["business"], 0.30, 0.0)
    for code in ("MG-FIX", "MG-TRK", "IV-FUND", "CC-PLAT"):
        prob[student, INDEX[code]] = 0.0
    held = rng.random((n, len(PRODUCTS))) < np.clip(prob, 0, 0.95)
    mortgage = held[:, INDEX["MG-FIX"]] | held[:, INDEX["MG-TRK"]]
    held[:, INDEX["MG-TRK"]] &= ~held[:, INDEX["MG-FIX"]]
    follow = rng.random((n, 2))
    held[:, INDEX["IN-HOME"]] |= mortgage & (follow[:, 0] < 0.7)
    held[:, INDEX["IN-LIFE"]] |= (mortgage | held[:, INDEX["SV-KIDS"]]) & (follow[:, 1] < 0.45)
    current = [INDEX[c] for c in ("CA-STD", "CA-PREM", "CA-STU")]
    held[:, INDEX["CA-STD"]] |= ~held[:, current].any(axis=1)
    cust, prod = np.nonzero(held)
    since = -demo["tenure_days"][cust] + n_days  # customers joined up to the world's end
    since = np.minimum(since, n_days - 1)
    is_current = np.isin(prod, current)
    opened = np.where(is_current, since, since + (rng.random(len(cust)) ** 1.3 * (n_days - since)).astype(np.int64))
    term = np.array([(p.term_years or (0, 0)) for p in PRODUCTS])
    years = rng.uniform(term[prod, 0], term[prod, 1] + 1e-9)
    closed = np.where(term[prod, 1] > 0, opened + (years * 365.25).astype(np.int64), OPEN)
    random_close = ~is_current & (rng.random(len(cust)) < 0.06)
    closed = np.where(random_close, opened + (rng.random(len(cust)) * (n_days - opened)).astype(np.int64) + 1, closed)
    churn_day = np.where(rng.random(n) < CHURN_RATE, rng.integers(90, max(n_days - 30, 91), n), OPEN)
    leave = np.maximum(churn_day[cust], since + 1)  # nobody leaves before joining
    keep = (opened < leave) | is_current
    closed = np.minimum(closed, leave)
    closed = np.where(closed >= n_days, OPEN, closed)
    typical = np.array([p.balance for p in PRODUCTS], dtype=float)[prod]
    deposit = typical > 0
    scale = np.where(deposit, income[cust] * (1 + demo["stage"][cust] * 0.4), income[cust])
    balance = np.round(typical * scale * rng.lognormal(0.0, 0.6, len(cust)), 2)
    balance = np.where(closed != OPEN, 0.0, balance)
    balance = np.where(typical == 0, np.nan, balance)
    return pd.DataFrame({"cust": cust, "prod": prod, "opened": opened, "closed": closed,
                         "balance": balance})[keep].reset_index(drop=True)


def _bank_lines(rng: np.random.Generator, hold: pd.DataFrame, demo: dict, calendar: Calendar,
                n_lines: int) -> pd.DataFrame:
    """Opening purchases and periodic charges of every holding inside the world's window."""
    n_days = calendar.n_days
    cust, prod = hold["cust"].to_numpy(), hold["prod"].to_numpy()
    opened, closed = hold["opened"].to_numpy(), hold["closed"].to_numpy()
    lo = np.maximum(opened, 0)
    hi = np.minimum(closed, n_days - 1)
    span = np.where(hi >= lo, hi - lo, -1)  # -1: not held inside the window
    price = np.array([p.price for p in PRODUCTS], dtype=float)
    period = np.array([p.period_days for p in PRODUCTS], dtype=float)[prod]
    opening = (opened >= 0) & (opened < n_days)
    wanted = max(n_lines - opening.sum(), 1)
    stretch = max((np.maximum(span, 0) / period).sum() / wanted, 0.05)  # calibrate periods to the wanted line count
    period = period * stretch
    phase = rng.random(len(cust)) * period
    count = np.where(span >= phase, np.floor((np.maximum(span, 0) - phase) / period).astype(np.int64) + 1, 0)
    rep = np.repeat(np.arange(len(cust)), count)
    day = lo[rep] + np.round(phase[rep] + positions_within(count) * period[rep]).astype(np.int64)
    charge = np.round(price[prod[rep]] * period[rep] / 365.0 * rng.lognormal(0, 0.1, len(rep)), 2)
    o = np.flatnonzero(opening)
    fee = np.round(price[prod[o]] * 0.25, 2)
    e_hold = np.concatenate([o, rep])
    e_day = np.concatenate([opened[o], np.minimum(day, n_days - 1)])
    e_amount = np.concatenate([fee, charge])
    e_open = np.concatenate([np.ones(len(o), bool), np.zeros(len(rep), bool)])
    e_cust = cust[e_hold]
    channel = np.where(e_open, demo["channel"][e_cust], -1)
    minutes = np.where(e_open & (channel == 2), shop_minutes(rng, len(e_hold), 9, 17),
                       np.where(e_open, rng.integers(7 * 60, 23 * 60, len(e_hold)), 6 * 60))
    # a few charges refunded two to three weeks later
    refund = ~e_open & (rng.random(len(e_hold)) < 0.003)
    r = np.flatnonzero(refund)
    r_day = e_day[r] + rng.integers(14, 22, len(r))
    r = r[r_day < n_days]
    r_day = r_day[r_day < n_days]
    all_hold = np.concatenate([e_hold, e_hold[r]])
    all_day = np.concatenate([e_day, r_day])
    all_min = np.concatenate([minutes, np.full(len(r), 10 * 60)])
    quantity = np.concatenate([np.ones(len(e_hold), np.int64), -np.ones(len(r), np.int64)])
    amount = np.concatenate([e_amount, e_amount[r]])
    chan = np.concatenate([channel, np.full(len(r), -1)])
    when = calendar.to_datetime(all_day, all_min)
    order = np.lexsort((all_hold, when))
    when, all_hold, quantity, amount, chan = (a[order] for a in (when, all_hold, quantity, amount, chan))
    p = prod[all_hold]
    names = np.array([x.name for x in PRODUCTS])
    families = np.array([x.family for x in PRODUCTS])
    codes = np.array([x.product_id for x in PRODUCTS])
    return pd.DataFrame({
        "customer_id": pd.array(_customer_ids(cust[all_hold]), dtype="string"),
        "invoice_id": pd.array(np.char.add("T", np.char.zfill((np.arange(len(p)) + 1).astype(str), 7)),
                               dtype="string"),
        "invoice_date": when,
        "product_id": pd.array(codes[p], dtype="string"),
        "product_name": pd.array(names[p], dtype="string"),
        "category": pd.array(families[p], dtype="string"),
        "quantity": quantity,
        "unit_price": amount,
        "channel": pd.array(np.where(chan >= 0, CHANNELS[np.maximum(chan, 0)], "direct debit"), dtype="string"),
    })


def _customer_ids(index: np.ndarray) -> np.ndarray:
    """Bank customer numbers: eight digits with leading zeros."""
    return np.char.zfill((FIRST_CUSTOMER_NUMBER + index).astype(str), 8)


def _bank_customers(rng: np.random.Generator, demo: dict, calendar: Calendar) -> pd.DataFrame:
    """The customers file: people, birth dates, tags for occupation, income and life stage."""
    n = len(demo["age"])
    people = draw_people(rng, n)
    end = calendar.start + np.timedelta64(calendar.n_days - 1, "D")
    consent = draw_consent(rng, n, end, opt_in_rate=0.85, dnc_rate=0.04)
    birth = (end - (demo["age"] * 365.25).astype(np.int64).astype("timedelta64[D]")).astype("datetime64[ns]")
    tags = pd.Series(OCCUPATIONS[demo["occupation"]])
    tags = tags + ";income:" + pd.Series(np.array(INCOME_BANDS)[demo["band"]])
    tags = tags + ";" + pd.Series(np.array(LIFE_STAGES)[demo["stage"]])
    tags = tags + np.where(demo["channel"] == 0, ";digital", "")
    tags = tags + np.where(demo["business"], ";business-owner", "")
    out = pd.DataFrame({"customer_id": pd.array(_customer_ids(np.arange(n)), dtype="string")})
    out = pd.concat([out, people], axis=1)
    out["birth_date"] = birth
    out["tags"] = pd.array(tags.to_numpy(), dtype="string")
    out = pd.concat([out, consent], axis=1)
    return out[list(CUSTOMER_FILE_COLUMNS)]


def generate_bank(seed: int = 11, n_customers: int = 5000, n_lines: int = 45000,
                  start: date = date(2023, 1, 1), years: int = 3) -> DemoWorld:
    """Generate the demo bank, deterministically from ``seed``.

    Args:
        seed: random seed; the same seed and arguments give equal frames.
        n_customers: customers (all hold at least a current account).
        n_lines: target number of transaction lines; charge periods are
            stretched or shrunk to reach it (revenue per year stays the same).
        start: first day of the data.
        years: length of the data in years.
    Returns:
        A :class:`DemoWorld` with transactions, customers, products and holdings.
    Raises:
        DemoArgumentError: when a size is not positive.
    """
    if n_customers < 1 or n_lines < 1 or years < 1:
        raise DemoArgumentError("n_customers, n_lines and years must be positive, e.g. generate_bank(n_customers=5000)")
    rng = np.random.default_rng(seed)
    end = date(start.year + years, start.month, start.day)
    calendar = Calendar(np.datetime64(start), (end - start).days)
    demo = _draw_demographics(rng, n_customers)
    hold = _draw_holdings(rng, demo, calendar.n_days)
    tx = _bank_lines(rng, hold, demo, calendar, n_lines)
    customers = _bank_customers(rng, demo, calendar)
    hold = hold.sort_values(["cust", "prod"], kind="stable")
    codes = np.array([p.product_id for p in PRODUCTS])
    closed = hold["closed"].to_numpy()
    holdings = pd.DataFrame({
        "customer_id": pd.array(_customer_ids(hold["cust"].to_numpy()), dtype="string"),
        "product_id": pd.array(codes[hold["prod"].to_numpy()], dtype="string"),
        "opened_at": calendar.to_datetime(hold["opened"].to_numpy()),
        "closed_at": pd.Series(calendar.to_datetime(np.where(closed == OPEN, 0, closed))).where(closed != OPEN).to_numpy(),
        "balance": hold["balance"].to_numpy(),
    }).reset_index(drop=True)
    return DemoWorld(tx, customers, bank_products(), holdings, name="bank")
