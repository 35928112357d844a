"""Persona names and descriptions derived from cluster profiles.

A cluster's *profile* is its size, the medians of the key features, and for
each feature how far the cluster's mean sits from the population in standard
deviations (``z``, on the scaled log features used for clustering). A persona
is an archetype read from recency / frequency / tenure (retail) or from age,
balance, holdings and activity (bank: when holdings columns ``balance`` or
``n_holdings`` exist; age alone does not make a bank), plus the
cluster's most distinctive trait as a modifier: "Big-basket loyalists",
"Bargain-hunting lapsed one-off buyers", "Savers near retirement". Codes are
stable (``LOYALISTS__BIG_BASKET``); when two clusters would share one, the
next distinctive trait is added, and only then the cluster number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HIGH, LOW = 0.5, -0.5
DISTINCT = 0.2  # weaker traits still tell two similar clusters apart
BANK_COLUMNS = ("age", "balance", "n_holdings")
PROFILE_COLUMNS = (
    "recency_days", "frequency", "monetary", "avg_order_value", "n_products", "tenure_days",
    "return_share", *BANK_COLUMNS,
)
# feature -> (code, adjective) when high, (code, adjective) when low
_MODIFIERS = {
    "avg_order_value": (("BIG_BASKET", "Big-basket"), ("BARGAIN", "Bargain-hunting")),
    "monetary": (("HIGH_VALUE", "High-value"), ("LOW_SPEND", "Low-spend")),
    "n_products": (("WIDE_RANGE", "Wide-range"), ("FEW_PRODUCTS", "Few-product")),
    "return_share": (("RETURN_PRONE", "Return-prone"), None),
    "balance": (("HIGH_BALANCE", "High-balance"), ("LOW_BALANCE", "Low-balance")),
    "n_holdings": (("MULTI_PRODUCT", "Multi-product"), ("SINGLE_PRODUCT", "Single-product")),
}
_BANK_ADJECTIVES = {"Big-basket": "Big-ticket", "Bargain-hunting": "Small-ticket", "High-value": "High-volume",
                   "Low-spend": "Low-volume", "Return-prone": "Refund-prone", "Few-product": "Narrow-use",
                   "Wide-range": "Broad-use"}
# an archetype already says this much: no modifier repeats it ("High-balance savers")
_ARCHETYPE_FEATURES = {
    "BORROWERS": {"balance"}, "SAVERS": {"balance"}, "SAVERS_NEAR_RETIREMENT": {"balance"},
    "AFFLUENT_MULTI_PRODUCT": {"balance", "n_holdings"},
}
_TRAIT_TEXT = {
    "frequency": ("buy more often", "buy less often"),
    "monetary": ("spend more in total", "spend less in total"),
    "recency_days": ("have not bought for longer", "bought more recently"),
    "avg_order_value": ("place bigger orders", "place smaller orders"),
    "n_products": ("buy a wider range of products", "buy fewer different products"),
    "tenure_days": ("have been customers for longer", "are newer customers"),
    "return_share": ("return more", "return less"),
    "age": ("are older", "are younger"),
    "balance": ("hold higher balances", "hold lower balances"),
    "n_holdings": ("hold more products", "hold fewer products"),
}

_BANK_WORDS = {
    "buy more often": "transact more often", "buy less often": "transact less often",
    "spend more in total": "move more money", "spend less in total": "move less money",
    "have not bought for longer": "have been inactive for longer", "bought more recently": "were active more recently",
    "place bigger orders": "make bigger transactions", "place smaller orders": "make smaller transactions",
    "buy a wider range of products": "use more kinds of products", "buy fewer different products":
        "use fewer kinds of products",
}


def describe_clusters(
    features: pd.DataFrame, labels: pd.Series, matrix: pd.DataFrame, extra: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Profile, persona code, name and description of every cluster.

    Args:
        features: customer features (index customer_id).
        labels: cluster 1..k per customer (Int64, same index).
        matrix: the scaled matrix the clusters were fitted on (for the z-scores).
        extra: optional demographics / holdings per customer (age, balance, n_holdings).
    Returns:
        A frame indexed by ``cluster`` with ``size, share, persona, persona_name,
        description``, ``median_<feature>`` and ``z_<feature>`` columns.
    """
    data = features.copy()
    if extra is not None:
        for col in BANK_COLUMNS:
            if col in extra.columns:
                data[col] = pd.to_numeric(extra[col].reindex(features.index), errors="coerce").astype("float64")
    cols = [c for c in PROFILE_COLUMNS if c in data.columns]
    lab = labels.to_numpy(dtype="int64", na_value=0)
    grouped = data[cols].astype("float64").groupby(lab)
    profile = grouped.median().add_prefix("median_")
    zcols = [c for c in cols if c in matrix.columns]
    z = matrix[zcols].groupby(lab).mean().add_prefix("z_").round(6)
    sizes = pd.Series(np.bincount(lab)[profile.index], index=profile.index)
    out = pd.concat([sizes.rename("size"), (sizes / sizes.sum()).rename("share"), profile, z], axis=1)
    out = out.drop(index=0, errors="ignore")
    out.index.name = "cluster"
    bank = any(c in data.columns for c in ("balance", "n_holdings"))  # age alone does not make a bank
    codes, names = _personas(out, bank)
    out.insert(2, "persona", pd.array(codes, dtype="string"))
    out.insert(3, "persona_name", pd.array(names, dtype="string"))
    out.insert(4, "description", pd.array([_description(row, bank) for _, row in out.iterrows()], dtype="string"))
    return out


def _z(row: pd.Series, name: str) -> float:
    value = row.get(f"z_{name}", 0.0)
    return 0.0 if pd.isna(value) else float(value)


def _archetype(row: pd.Series, bank: bool) -> tuple[str, str]:
    """(code, noun phrase) from the cluster's behaviour, relative to the population."""
    zf, zr, zt = _z(row, "frequency"), _z(row, "recency_days"), _z(row, "tenure_days")
    if bank:
        return _bank_archetype(row, zf, zr, zt)
    if zf >= HIGH:
        return ("LOYALISTS", "loyalists") if zr <= 0 else ("FADING_REGULARS", "fading regulars")
    if zt <= LOW and zr <= 0:
        return "NEWCOMERS", "newcomers"
    if zr <= LOW:
        return "RECENT_OCCASIONALS", "recent occasional buyers"
    if zr >= HIGH:
        one_off = row.get("median_frequency", 2) <= 1
        return ("LAPSED_ONE_OFFS", "lapsed one-off buyers") if one_off else (
            "LAPSED_OCCASIONALS", "lapsed occasional buyers")
    return "OCCASIONALS", "occasional buyers"


def _bank_archetype(row: pd.Series, zf: float, zr: float, zt: float) -> tuple[str, str]:
    """Bank personas: life stage (median age) first, then balance, holdings and activity."""
    age = row.get("median_age", np.nan)
    balance = row.get("median_balance", np.nan)
    zb, zh = _z(row, "balance"), _z(row, "n_holdings")
    if _has(age) and age >= 55:
        if zb >= 0 and not (_has(balance) and balance < 0):
            return "SAVERS_NEAR_RETIREMENT", "savers near retirement"
        return "RETIREMENT_AGE_CLIENTS", "retirement-age clients"
    if _has(age) and age <= 32:
        return ("YOUNG_ACTIVE_USERS", "young active users") if zf >= 0 else ("YOUNG_STARTERS", "young starters")
    if zt <= LOW:
        return "NEW_CLIENTS", "new clients"
    if zb <= LOW and _has(balance) and balance < 0:
        return "BORROWERS", "borrowers"
    if zb >= HIGH and zh >= HIGH:
        return "AFFLUENT_MULTI_PRODUCT", "affluent multi-product clients"
    if zb >= HIGH:
        return "SAVERS", "savers"
    if zf >= HIGH:
        return "ACTIVE_EVERYDAY", "active everyday bankers"
    if zr >= HIGH or zf <= LOW:
        return "DORMANT", "dormant clients"
    return "MAINSTREAM", "mainstream clients"


def _modifiers(row: pd.Series, archetype: str, bank: bool) -> tuple[list[tuple[str, str]], int]:
    """Traits as (code, adjective), strongest first, and how many of them are strong."""
    found = []
    for feature, (high, low) in _MODIFIERS.items():
        if feature in _ARCHETYPE_FEATURES.get(archetype, ()):
            continue
        if bank:
            high = high and (high[0], _BANK_ADJECTIVES.get(high[1], high[1]))
            low = low and (low[0], _BANK_ADJECTIVES.get(low[1], low[1]))
        z = _z(row, feature)
        if z >= DISTINCT and high:
            found.append((abs(z), feature, high))
        elif z <= -DISTINCT and low:
            found.append((abs(z), feature, low))
    found.sort(key=lambda t: (-t[0], t[1]))
    return [m for _, _, m in found], sum(1 for z, _, _ in found if z >= HIGH)


def _personas(profiles: pd.DataFrame, bank: bool) -> tuple[list[str], list[str]]:
    """Unique persona codes and names for the clusters, in cluster order."""
    bases = [_archetype(row, bank) for _, row in profiles.iterrows()]
    found = [_modifiers(row, base[0], bank) for base, (_, row) in zip(bases, profiles.iterrows())]
    mods = [m for m, _ in found]
    depth = [min(1, strong) for _, strong in found]  # a name shows one strong trait at most

    def label(i: int) -> tuple[str, str]:
        code, noun = bases[i]
        chosen = mods[i][: depth[i]]
        adjectives = " ".join(adj for _, adj in chosen)
        name = f"{adjectives} {noun}" if adjectives else noun
        return "__".join([code, *(c for c, _ in chosen)]), name[0].upper() + name[1:]

    for _ in range(4):  # widen colliding codes with the next trait, a few rounds at most
        codes = [label(i)[0] for i in range(len(bases))]
        dupes = {c for c in codes if codes.count(c) > 1}
        grew = False
        for i, c in enumerate(codes):
            if c in dupes and depth[i] < len(mods[i]):
                depth[i] += 1
                grew = True
        if not dupes or not grew:
            break
    labelled = [label(i) for i in range(len(bases))]
    codes = [c for c, _ in labelled]
    names = [n for _, n in labelled]
    for i, cluster in enumerate(profiles.index):
        if codes.count(labelled[i][0]) > 1:
            codes[i] = f"{labelled[i][0]}__{cluster}"
            names[i] = f"{labelled[i][1]} ({cluster})"
    return codes, names


def _description(row: pd.Series, bank: bool) -> str:
    """One English paragraph from the cluster's numbers (bank wording when holdings are loaded)."""
    order, spent = ("transaction(s)", "in transactions") if bank else ("order(s)", "spent in total")
    per = "per transaction" if bank else "per order"
    parts = [f"{int(row['size']):,} customers ({row['share']:.0%})."]
    med = {c: row.get(f"median_{c}") for c in PROFILE_COLUMNS}
    typical = [
        f"{med['frequency']:.0f} {order}" if _has(med["frequency"]) else None,
        f"last one {med['recency_days']:.0f} days ago" if _has(med["recency_days"]) else None,
        f"{_money(med['monetary'])} {spent}" if _has(med["monetary"]) else None,
        f"{_money(med['avg_order_value'])} {per}" if _has(med["avg_order_value"]) else None,
        f"aged {med['age']:.0f}" if _has(med["age"]) else None,
        f"balance {_money(med['balance'])}" if _has(med["balance"]) else None,
        f"{med['n_holdings']:.0f} product(s) held" if _has(med["n_holdings"]) else None,
    ]
    typical = [t for t in typical if t]
    if typical:
        parts.append("Typically " + ", ".join(typical) + ".")
    traits = []
    for feature, (more, less) in _TRAIT_TEXT.items():
        z = _z(row, feature)
        if bank:
            more, less = _BANK_WORDS.get(more, more), _BANK_WORDS.get(less, less)
        if z >= HIGH:
            traits.append((abs(z), more))
        elif z <= LOW:
            traits.append((abs(z), less))
    traits.sort(key=lambda t: -t[0])
    if traits:
        parts.append("Compared with all customers they " + ", ".join(t for _, t in traits[:4]) + ".")
    else:
        parts.append("Close to the average customer on every measure.")
    return " ".join(parts)


def _has(value) -> bool:
    return value is not None and not pd.isna(value)


def _money(value: float) -> str:
    """Whole units with thousands separators; never "-0"."""
    rounded = round(float(value))
    return f"{rounded + 0:,}"
