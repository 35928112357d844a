"""Purchase and holding history as of a day, in integer codes for vectorised work.

Transactions are coded once (:func:`code_lines`): ids become integer codes and
the sales lines are sorted once by customer, product and invoice, so that
:func:`history_as_of` can cut them at any day and summarise them with
segment reductions (no hashing, no further sort). The engine looks at the
data as it stood on the as-of date and, to learn its purchase model, one
horizon earlier.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_core.holdings import held_mask
from crm_core.memory import release_freed
from crm_core.recommend.text_codes import factorize_text, sorted_codes

_EPOCH = np.datetime64("1970-01-01", "D")
_NEVER = 10**9


def day_number(value) -> int:
    """Days since 1970-01-01 of a date, datetime or ISO string."""
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - _EPOCH).astype(int))


@dataclass(frozen=True)
class SalesLines:
    """Sales lines as aligned arrays, sorted by customer, product, invoice code and day, with their runs.

    Lines: ``c`` customer code (-1 anonymous), ``p`` product code (-1
    unknown), ``day`` and ``inv`` invoice code (a line without invoice id
    counts by its day). A *run* is the lines of one (customer, product) in a
    row: ``run_start`` (first line), ``run_c, run_p``, ``run_first,
    run_last`` (days). ``triple_run`` and ``triple_first`` give, per
    (customer, product, invoice), its run and first day.
    ``invoice_customer`` is the customer of each invoice code when every
    invoice belongs to one customer (else None) and ``invoice_first_day`` the
    day of its first line.
    """

    c: np.ndarray
    p: np.ndarray
    day: np.ndarray
    inv: np.ndarray
    run_start: np.ndarray
    run_c: np.ndarray
    run_p: np.ndarray
    run_first: np.ndarray
    run_last: np.ndarray
    triple_run: np.ndarray
    triple_first: np.ndarray
    single_day_triples: bool
    invoice_customer: np.ndarray | None
    invoice_first_day: np.ndarray | None

    def __len__(self) -> int:
        return len(self.c)


@dataclass(frozen=True)
class LineAmounts:
    """Net amount of every line (sales and returns), in the input order: ``c`` (-1 anonymous), ``day``, ``amount``."""

    c: np.ndarray
    day: np.ndarray
    amount: np.ndarray


@dataclass(frozen=True)
class CodedLines:
    """Sales lines and holdings in integer codes.

    ``customers`` and ``products`` map codes back to ids (sorted); ``sales``
    is a :class:`SalesLines`; ``amounts`` a :class:`LineAmounts`;
    ``holdings`` has ``c, p, opened, closed`` (day numbers, ``closed`` = a
    large number when open).
    """

    customers: pd.Index
    products: pd.Index
    sales: SalesLines
    amounts: LineAmounts
    holdings: pd.DataFrame

    def without_sales(self) -> "CodedLines":
        """The same codes and holdings with no sales lines or amounts: all that scoring from a history
        needs (the lines take hundreds of MB at ten million)."""
        none, codes = np.zeros(0, np.int32), np.zeros(0, np.int64)
        return CodedLines(self.customers, self.products,
                          _sorted_sales(none, none, none, codes, len(self.customers), len(self.products)),
                          LineAmounts(none, none, np.zeros(0)), self.holdings)


def code_lines(tx: pd.DataFrame, products: pd.Index, holdings: pd.DataFrame | None,
               product_text: tuple | None = None) -> CodedLines:
    """Code the sales of ``tx`` and the ``holdings`` against a product index.

    Args:
        tx: canonical transactions.
        products: the catalog's product ids (sorted); other products get code -1.
        holdings: the holdings frame or None.
        product_text: ``factorize_text(tx["product_id"])`` when already computed.
    """
    hold = holdings if holdings is not None and len(holdings) else None
    ids = tx["customer_id"]
    if hold is not None:  # customers of the holdings too (banks: a customer may hold without buying)
        ids = pd.concat([ids.astype("string"), hold["customer_id"].astype("string")], ignore_index=True)
    is_return = tx["is_return"].to_numpy(dtype=bool) if "is_return" in tx.columns else np.zeros(len(tx), bool)
    keep = ~is_return
    with ThreadPoolExecutor(max_workers=1) as pool:  # invoice ids are coded meanwhile (Arrow releases the GIL)
        invoices = pool.submit(factorize_text, tx["invoice_id"], keep if is_return.any() else None) \
            if "invoice_id" in tx.columns else None
        codes, distinct = factorize_text(ids)
        c_all, customers = sorted_codes(codes, distinct)
        del codes, distinct
        inv = invoices.result()[0] if invoices is not None else np.full(int(keep.sum()), -1, dtype=np.int64)
    release_freed(collect=False)  # the text coding's buffers, before the sort's (hundreds of MB at 10M lines)
    c, hc = c_all[:len(tx)], c_all[len(tx):]
    day = day_numbers(tx["invoice_date"])
    p = product_codes(tx["product_id"], products, product_text) if "product_id" in tx.columns \
        else np.full(len(tx), -1)
    amount = tx["amount"].to_numpy(dtype="float64", na_value=0.0)
    amounts = LineAmounts(c.astype(np.int32), day.astype(np.int32), amount)
    if is_return.any():
        c, p, day = c[keep], p[keep], day[keep]
    sales = _sorted_sales(c, p, day, inv, len(customers), len(products))
    if hold is not None:
        hp = product_codes(hold["product_id"], products)
        opened = day_numbers(hold["opened_at"]) if "opened_at" in hold.columns else np.full(len(hold), -10**6)
        closed = day_numbers(hold["closed_at"], missing=_NEVER) if "closed_at" in hold.columns \
            else np.full(len(hold), _NEVER)
        opened = np.where(opened == _NEVER, -10**6, opened)
        h = pd.DataFrame({"c": hc, "p": hp, "opened": opened, "closed": closed})
        h = h[(h.c >= 0) & (h.p >= 0)].reset_index(drop=True)
    else:
        h = pd.DataFrame({"c": np.array([], np.int64), "p": np.array([], np.int64),
                          "opened": np.array([], np.int64), "closed": np.array([], np.int64)})
    return CodedLines(customers, products, sales, amounts, h)


def product_codes(values: pd.Series, products: pd.Index, text: tuple | None = None) -> np.ndarray:
    """Code of each product id (trimmed, upper case) in ``products``; -1 when missing or unknown.

    ``text`` is ``factorize_text(values)`` when already computed.
    """
    codes, distinct = text if text is not None else factorize_text(values)
    normal = pd.Index(pd.array(distinct, dtype="string")).str.strip().str.upper()
    table = products.get_indexer(normal)
    return np.where(codes >= 0, table[np.maximum(codes, 0)], -1) if len(table) else np.full(len(codes), -1)


def _sorted_sales(c, p, day, inv, n_customers: int, n_products: int) -> SalesLines:
    """The sales lines sorted by (customer, product, invoice code, day), with their runs and invoice facts.

    The four codes are packed into the bits of one integer when they fit in
    63, so that sorting the values alone (no permutation to apply) orders
    the lines.
    """
    missing = inv < 0
    if missing.any():  # no invoice id: the line counts by its day, like one invoice of that day
        base = int(inv.max()) + 1
        inv = np.where(missing, base + (day - int(day[missing].min())), inv)
    n_inv = int(inv.max()) + 1 if len(inv) else 1
    first_day = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - first_day + 1 if len(day) else 1
    bits = [int(n).bit_length() for n in (n_customers + 1, n_products + 1, n_inv, n_days)]
    if sum(bits) <= 63:  # one int64 per line: customer | product | invoice | day
        shift_p, shift_inv, shift_c = bits[3] + bits[2], bits[3], bits[3] + bits[2] + bits[1]
        key = (c.astype(np.int64) + 1) << shift_c
        key |= (p.astype(np.int64) + 1) << shift_p
        key |= inv.astype(np.int64) << shift_inv
        key |= (day - first_day).astype(np.int64)
        key.sort()
        day = (key & ((1 << bits[3]) - 1)) + first_day
        inv = (key >> shift_inv) & ((1 << bits[2]) - 1)
        p = ((key >> shift_p) & ((1 << bits[1]) - 1)) - 1
        c = (key >> shift_c) - 1
    else:
        order = np.lexsort((day, inv, p, c))
        c, p, day, inv = c[order], p[order], day[order], inv[order]
    c, p, day = c.astype(np.int32), p.astype(np.int32), day.astype(np.int32)
    owner = np.full(n_inv, -2, dtype=np.int64)
    owner[inv] = c
    one_customer = bool(np.array_equal(owner[inv], c))
    first_of_invoice = None
    if one_customer:
        first_of_invoice = np.full(n_inv, _NEVER, dtype=np.int32)
        first_of_invoice[inv] = day  # any line's day: right when the invoice has one day, the usual case
        if not np.array_equal(first_of_invoice[inv], day):
            first_of_invoice[:] = _NEVER
            np.minimum.at(first_of_invoice, inv, day)
    new_run = np.ones(len(c), dtype=bool)
    new_run[1:] = (c[1:] != c[:-1]) | (p[1:] != p[:-1])
    new_triple = new_run.copy()
    new_triple[1:] |= inv[1:] != inv[:-1]
    run_start = np.flatnonzero(new_run)
    triple_start = np.flatnonzero(new_triple)
    triple_run = (np.cumsum(new_run) - 1)[triple_start].astype(np.int32)
    triple_first = day[triple_start]  # days are sorted within a triple
    single_day = bool(np.array_equal(triple_first, day[np.r_[triple_start[1:], len(day)] - 1])) if len(day) else True
    return SalesLines(c, p, day, inv, run_start, c[run_start], p[run_start],
                      _reduce(np.minimum, day, run_start).astype(np.int32),
                      _reduce(np.maximum, day, run_start).astype(np.int32),
                      triple_run, triple_first, single_day, owner if one_customer else None, first_of_invoice)


@dataclass(frozen=True)
class History:
    """What was known on one day.

    Attributes:
        day: the day number of the as-of date.
        pairs: one row per (customer, product) bought or held, sorted: ``c, p, n``
            (distinct invoices), ``first, last`` (days before ``day``),
            ``held`` (held on ``day``).
        customers: per customer code (index) with a sale or holding:
            ``frequency, first, recency, monetary``.
        popularity: per product code, distinct invoices in the window (anonymous sales included).
        popularity_recent: the same over the last third of the window.
        buyers: per product code, customers who bought or hold it.
        repeat_rate: per product code, share of its buyers with two or more invoices.
        usual_interval: per product code, median days between repeat purchases (NaN when none).
    """

    day: int
    pairs: pd.DataFrame
    customers: pd.DataFrame
    popularity: np.ndarray
    popularity_recent: np.ndarray
    buyers: np.ndarray
    repeat_rate: np.ndarray
    usual_interval: np.ndarray


def history_as_of(lines: CodedLines, day: int, window_days: int) -> History:
    """Cut the coded lines at ``day`` (inclusive) and summarise them.

    Works on the (customer, product) runs of :class:`SalesLines`: a run is
    known on ``day`` when its first line is; only its last day and spend need
    the lines when some of them come later.

    Args:
        lines: from :func:`code_lines`.
        day: day number of the as-of date.
        window_days: popularity window.
    """
    P, C = len(lines.products), len(lines.customers)
    s = lines.sales
    popularity = _invoices_per_product(s, day - window_days, day, P)
    popularity_recent = _invoices_per_product(s, day - max(window_days // 3, 1), day, P)

    if len(s) == 0 or int(s.run_last.max()) <= day:
        run_last = s.run_last
    else:
        run_last = _reduce(np.maximum, np.where(s.day <= day, s.day, -_NEVER), s.run_start)
    runs = np.flatnonzero((s.run_c >= 0) & (s.run_first <= day))
    run_c = s.run_c[runs]
    starts = _segment_starts(run_c)
    cust_code = run_c[starts].astype(np.int64)
    frequency = _invoices_per_customer(s, day, C)[cust_code]
    a = lines.amounts
    counted = (a.day <= day) & (a.c >= 0)
    spend = np.bincount(a.c[counted], weights=a.amount[counted], minlength=C)[cust_code]
    cust = pd.DataFrame({"frequency": frequency.astype(np.int64),
                         "first_day": _reduce(np.minimum, s.run_first[runs], starts),
                         "last_day": _reduce(np.maximum, run_last[runs], starts), "spend": spend},
                        index=pd.Index(cust_code, name="c"))

    n = np.bincount(s.triple_run[s.triple_first <= day], minlength=len(s.run_start))  # distinct invoices
    runs = runs[s.run_p[runs] >= 0]
    pairs = pd.DataFrame({"c": s.run_c[runs].astype(np.int64), "p": s.run_p[runs].astype(np.int64),
                          "n": n[runs].astype(np.int64), "first_day": s.run_first[runs].astype(np.int64),
                          "last_day": run_last[runs].astype(np.int64), "held": np.zeros(len(runs), dtype=bool)})
    h = lines.holdings
    h = h[h["opened"] <= day]
    if len(h):
        pairs, cust = _with_holdings(pairs, cust, h, day)
    pairs["first"] = (day - pairs.pop("first_day")).astype(np.int64)
    pairs["last"] = (day - pairs.pop("last_day")).astype(np.int64)
    cust["first"] = (day - cust.pop("first_day")).astype(np.int64)
    cust["recency"] = (day - cust.pop("last_day")).astype(np.int64)
    # Rounded to a millionth: sums of money should not depend on the order the lines were added in.
    cust["monetary"] = cust.pop("spend").fillna(0.0).round(6)

    pc_, pn = pairs["p"].to_numpy(), pairs["n"].to_numpy()
    buyers = np.bincount(pc_, minlength=P).astype(np.float64)
    repeaters = np.bincount(pc_, weights=(pn >= 2).astype(float), minlength=P)
    repeat_rate = np.divide(repeaters, buyers, out=np.zeros(P), where=buyers > 0)
    rep = pairs[pn >= 2]
    gaps = (rep["first"] - rep["last"]) / (rep["n"] - 1)
    usual = gaps.groupby(rep["p"].to_numpy()).median().reindex(range(P)).to_numpy(dtype=np.float64)
    return History(day, pairs, cust, popularity, popularity_recent, buyers, repeat_rate, usual)


def _with_holdings(pairs: pd.DataFrame, cust: pd.DataFrame, h: pd.DataFrame, day: int):
    """Pairs and customers with the holdings open on or before ``day`` merged in (banks)."""
    hp = h.assign(held=held_mask(h["opened"].to_numpy(), h["closed"].to_numpy(), day)).groupby(["c", "p"], sort=True).agg(
        hold_first=("opened", "min"), hold_last=("opened", "max"), held=("held", "any")).reset_index()
    pairs = pairs.merge(hp, on=["c", "p"], how="outer", suffixes=("_tx", ""))
    pairs["held"] = pairs["held"].astype("boolean").fillna(False).astype(bool)
    pairs["n"] = pairs["n"].fillna(1).astype(np.int64)
    pairs["first_day"] = pairs["first_day"].fillna(pairs["hold_first"]).astype(np.int64)
    pairs["last_day"] = pairs["last_day"].fillna(pairs["hold_last"]).astype(np.int64)
    pairs = pairs.drop(columns=["hold_first", "hold_last", "held_tx"], errors="ignore")
    pairs = pairs.sort_values(["c", "p"]).reset_index(drop=True)
    hc = h.groupby("c").agg(hfirst=("opened", "min"), hlast=("opened", "max"))
    cust = cust.join(hc, how="outer")
    cust["frequency"] = cust["frequency"].fillna(0).astype(np.int64)
    cust["first_day"] = np.fmin(cust["first_day"].to_numpy(float), cust["hfirst"].to_numpy(float))
    cust["last_day"] = np.fmax(cust["last_day"].to_numpy(float), cust["hlast"].to_numpy(float))
    return pairs, cust.drop(columns=["hfirst", "hlast"]).sort_index()


def _invoices_per_customer(s: SalesLines, day: int, n: int) -> np.ndarray:
    """Distinct invoices with a line on or before ``day``, per customer code."""
    if s.invoice_customer is not None:
        mine = (s.invoice_first_day <= day) & (s.invoice_customer >= 0)
        return np.bincount(s.invoice_customer[mine], minlength=n)
    known = (s.c >= 0) & (s.day <= day)
    width = int(s.inv.max()) + 1
    pairs = np.unique(s.c[known].astype(np.int64) * width + s.inv[known])
    return np.bincount(pairs // width, minlength=n)


def _invoices_per_product(s: SalesLines, after: int, until: int, n: int) -> np.ndarray:
    """Distinct invoices per product code among the lines dated in (after, until] (anonymous ones too)."""
    if s.invoice_customer is not None and s.single_day_triples:
        # one customer per invoice, one day per (customer, product, invoice): count those triples
        w = (s.triple_first > after) & (s.triple_first <= until)
        p = s.run_p[s.triple_run[w]]
        return np.bincount(p[p >= 0], minlength=n).astype(np.float64)
    w = (s.day > after) & (s.day <= until) & (s.p >= 0)
    width = int(s.inv.max()) + 1
    keys = np.unique(s.p[w].astype(np.int64) * width + s.inv[w])
    return np.bincount(keys // width, minlength=n).astype(np.float64)


def _segment_starts(sorted_codes: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts in a sorted array."""
    if len(sorted_codes) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(len(sorted_codes), dtype=bool)
    new[1:] = sorted_codes[1:] != sorted_codes[:-1]
    return np.flatnonzero(new)


def _reduce(ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ufunc.reduceat`` over runs, as int64; empty when there are no runs."""
    return ufunc.reduceat(values, starts).astype(np.int64) if len(starts) else np.zeros(0, np.int64)


def day_numbers(dates: pd.Series, missing: int = _NEVER) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of a datetime-like Series; ``missing`` where NA."""
    if isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M":
        values = dates.to_numpy()
    else:
        values = pd.to_datetime(dates, errors="coerce").to_numpy(dtype="datetime64[ns]")
    out = values.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(values), missing, out)
