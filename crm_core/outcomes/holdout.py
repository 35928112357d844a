"""The holdout (control) group of a campaign: a seeded, stratified share of its eligible customers kept aside.

The draw, so that anyone can redo it from the stored seed:

1. ``total = round(share × N)`` for N eligible customers, halves rounded up
   (``floor(share × N + 1/2)``: 2.5 customers hold out 3).
2. The strata are the customers' RFM segments in the campaign's run (customers
   without a segment form one stratum of their own). Stratum *s* with *n_s*
   customers gets ``floor(total × n_s / N)``; the places still left go one each
   to the strata with the largest remainders ``total × n_s mod N`` (ties: the
   larger stratum first, then the stratum's name). The arithmetic is on
   integers, so no float rounding can move a customer from one group to another.
3. One ``numpy.random.default_rng(seed)`` walks the strata in name order; in
   each, the customers sorted by code (code point order) are permuted by it and
   the first ``k_s`` of the permutation are held out.

The same customers, segments, share and seed give the same groups on every
machine (NumPy's PCG64 stream is stable across versions); the input's row
order does not matter. The seed of a campaign is :func:`default_seed` of its id
unless given, and is stored with it (``campaigns.seed``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from crm_core.errors import ValidationError

TREATMENT, HOLDOUT = "treatment", "holdout"
NO_SEGMENT = "\uffff(no segment)"  # the stratum of customers without a segment: sorts after every real code
MAX_SEED = 2**31 - 1  # campaigns.seed is a 32-bit integer column


def default_seed(campaign_id: int) -> int:
    """The seed of a campaign whose creator gave none: a fixed function of its id (0 <= seed <= MAX_SEED)."""
    digest = hashlib.sha256(f"nextbest-campaign-{int(campaign_id)}".encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") & MAX_SEED


def holdout_size(share: float, eligible: int) -> int:
    """How many of ``eligible`` customers a share holds out: ``round(share × eligible)``, halves up."""
    return int(np.floor(float(share) * int(eligible) + 0.5))


def stratum_quotas(sizes: pd.Series, total: int) -> pd.Series:
    """Split ``total`` places across strata in proportion to their sizes (largest remainders).

    Args:
        sizes: customers per stratum, indexed by stratum name.
        total: places to hand out (0 <= total <= sizes.sum()).
    Returns:
        Places per stratum (same index, int64), summing to ``total``; never more than a stratum's size.
    """
    sizes = sizes.astype("int64")
    n = int(sizes.sum())
    if n == 0 or total <= 0:
        return pd.Series(0, index=sizes.index, dtype="int64")
    scaled = sizes.to_numpy() * int(total)
    quotas = scaled // n
    remainders = scaled % n
    left = int(total) - int(quotas.sum())
    names = np.asarray([str(x) for x in sizes.index], dtype=object)
    # largest remainder first, then the larger stratum, then the name
    order = sorted(range(len(sizes)), key=lambda i: (-remainders[i], -sizes.iloc[i], names[i]))
    for i in order[:left]:
        quotas[i] += 1
    return pd.Series(quotas, index=sizes.index, dtype="int64")


def assign_holdout(customers: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Put a seeded, stratified share of ``customers`` in the holdout group (see the module docstring).

    Args:
        customers: one row per eligible customer: ``customer_id`` (the code, unique) and
            ``segment`` (the stratum; missing for customers without one). Other columns are kept.
        share: the holdout share, 0 <= share <= 1.
        seed: the campaign's seed, 0 <= seed <= MAX_SEED.
    Returns:
        The rows sorted by ``customer_id`` (fresh index), with ``group``: ``treatment`` or ``holdout``.
    Raises:
        ValidationError: a share or seed out of range, a missing column, or a customer given twice.
    """
    if not 0.0 <= float(share) <= 1.0:
        raise ValidationError(f"A holdout share is between 0 and 1 (0 % and 100 %); got {share!r}.")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValidationError(f"A holdout seed is a whole number from 0 to {MAX_SEED}; got {seed!r}.")
    missing = {"customer_id", "segment"} - set(customers.columns)
    if missing:
        raise ValidationError(f"The customers frame needs the columns {sorted(missing)}.")
    codes = customers["customer_id"].astype("string")
    if codes.isna().any() or codes.duplicated().any():
        raise ValidationError("Every customer of a holdout draw needs one unique customer_id.")
    order = np.argsort(codes.to_numpy(dtype=object).astype(str), kind="stable")  # code point order
    out = customers.iloc[order].reset_index(drop=True)
    strata = out["segment"].astype("string").fillna(NO_SEGMENT).to_numpy(dtype=object)
    sizes = pd.Series(strata).value_counts().sort_index()
    quotas = stratum_quotas(sizes, holdout_size(share, len(out)))
    held = np.zeros(len(out), dtype=bool)
    rng = np.random.default_rng(int(seed))
    for stratum in sizes.index:  # name order
        members = np.flatnonzero(strata == stratum)  # already in code order
        chosen = members[rng.permutation(len(members))[:int(quotas[stratum])]]
        held[chosen] = True
    out["group"] = np.where(held, HOLDOUT, TREATMENT)
    return out
