"""Which customer records look like the same person, and why: pure, vectorised, no store.

Three rules, each on a normalised key; two records sharing a key are a proposed pair:

* ``email``: the address trimmed and lower-cased (``" Ann@Shop.COM"`` is ``ann@shop.com``); a value
  without text on both sides of one ``@`` is no address.
* ``phone``: digits only. A number written internationally (``+44 …`` or ``0044 …``) keeps a
  leading ``+`` and drops a ``(0)`` written inside it (``+44 (0)20 …`` is ``+4420…``); a national
  number keeps its trunk 0 as written (``020 7946 0958`` is ``02079460958``). Kept simple on
  purpose: the workspace does not say which country a national number belongs to, so
  ``020 7946 0958`` and ``+44 20 7946 0958`` are *not* matched. Fewer than 6 digits is no number.
* ``name_postcode``: first and last name (accents dropped, lower case, letters only) plus the
  postcode (upper case, no spaces or dashes). The importer has no postcode column: a postcode is
  read from the customer's ``extra_json`` (keys in :data:`POSTCODE_KEYS`) when present. When one
  of the two records has no postcode, the same name in the same ``city`` is proposed instead
  (``name_city``), marked as weaker evidence; two different postcodes are never a match.

A key shared by more than ``max_group`` records (``noemail@shop.com``, ``0000000000``) is a
placeholder, not a person: it proposes nothing and is counted in ``attrs["placeholders"]``.
Pairing inside groups of at most ``max_group`` keeps the work linear in the number of records.
"""

from __future__ import annotations

import pandas as pd

RULES = ("email", "phone", "name_postcode", "name_city")
STRONG_RULES = ("email", "phone", "name_postcode")
RULE_LABELS = {"email": "same e-mail", "phone": "same phone", "name_postcode": "same name and postcode",
               "name_city": "same name and city (no postcode on file)"}
POSTCODE_KEYS = ("postcode", "post_code", "postal_code", "postalcode", "zip", "zip_code", "zipcode", "plz", "cap",
                 "code_postal", "codigo_postal")
PAIR_COLUMNS = ["customer_a", "customer_b", "rules", "strength", "evidence"]
MIN_PHONE_DIGITS = 6


def normalise_emails(values: pd.Series) -> pd.Series:
    """E-mail keys: trimmed and lower-cased; <NA> for anything without text on both sides of one ``@``."""
    text = values.astype("string").str.strip().str.lower()
    return text.where(text.str.fullmatch(r"[^@\s]+@[^@\s]+", na=False)).astype("string")


def normalise_phones(values: pd.Series) -> pd.Series:
    """Phone keys (module docstring): ``+`` and digits for international numbers, digits for national ones."""
    text = values.astype("string").str.strip()
    international = text.str.match(r"^(\+|00)", na=False)
    body = text.str.replace(r"^(\+|00)", "", regex=True)
    body = body.where(~international, body.str.replace("(0)", "", regex=False))
    digits = body.str.replace(r"\D", "", regex=True)
    key = digits.where(~international, "+" + digits)
    return key.where(digits.str.len() >= MIN_PHONE_DIGITS).astype("string")


def fold_text(values: pd.Series) -> pd.Series:
    """Names and places for matching: accents dropped, lower case, letters and digits, single spaces."""
    text = values.astype("string").str.normalize("NFKD").str.encode("ascii", errors="ignore").str.decode("ascii")
    text = text.astype("string").str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    return text.where(text != "").astype("string")


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Postcodes: upper case, without spaces and dashes (``sw1a 1aa`` is ``SW1A1AA``)."""
    text = values.astype("string").str.upper().str.replace(r"[\s\-]+", "", regex=True)
    return text.where(text != "").astype("string")


def postcodes_from_extra(extra: pd.Series) -> pd.Series:
    """The postcode each ``extra_json`` dict holds under one of :data:`POSTCODE_KEYS` (<NA> when none)."""
    def pick(value) -> str | None:
        if not isinstance(value, dict):
            return None
        folded = {str(k).strip().lower(): v for k, v in value.items()}
        found = next((folded[k] for k in POSTCODE_KEYS if folded.get(k) not in (None, "")), None)
        return None if found is None else str(found)

    return pd.Series([pick(v) for v in extra.tolist()], index=extra.index, dtype="string")


def duplicate_pairs(customers: pd.DataFrame, *, max_group: int = 5) -> pd.DataFrame:
    """Pairs of records that share a normalised e-mail, phone, or name with postcode (or city).

    Args:
        customers: one row per record: ``customer_id`` (code) and any of ``first_name, last_name,
            email, phone, city, postcode`` (missing columns count as empty).
        max_group: a key shared by more records than this is a placeholder and proposes nothing.
    Returns:
        Columns :data:`PAIR_COLUMNS`: ``customer_a < customer_b`` (codes), ``rules`` (the rules that
        matched, in :data:`RULES` order, joined by ``", "``), ``strength`` (``strong`` when any rule
        other than ``name_city`` matched, else ``weak``) and ``evidence`` (what matched, with the
        values as each record writes them). Strong pairs first, then by codes.
        ``attrs["placeholders"]`` counts the keys skipped as placeholders.
    """
    frame = customers.reset_index(drop=True).reindex(
        columns=["customer_id", "first_name", "last_name", "email", "phone", "city", "postcode"])
    code = frame["customer_id"].astype("string")
    name = fold_text(frame["first_name"]).str.cat(fold_text(frame["last_name"]), sep=" ")
    postcode = normalise_postcodes(frame["postcode"])
    city = fold_text(frame["city"])
    keys = {"email": normalise_emails(frame["email"]), "phone": normalise_phones(frame["phone"]),
            "name_postcode": name.str.cat(postcode, sep=" | ")}
    parts, placeholders = [], 0
    for rule, key in keys.items():
        found, skipped = _pairs_on(code, key, max_group)
        parts.append(found.assign(rule=rule))
        placeholders += skipped
    by_city, skipped = _pairs_on(code, name.str.cat(city, sep=" | "), max_group)
    placeholders += skipped
    has_postcode = pd.Series(postcode.notna().to_numpy(), index=code.to_numpy())
    both = (has_postcode.reindex(by_city["customer_a"]).to_numpy()
            & has_postcode.reindex(by_city["customer_b"]).to_numpy())
    parts.append(by_city[~both].assign(rule="name_city"))  # two postcodes on file decide, not the city
    pairs = pd.concat(parts, ignore_index=True)
    out = _combine(pairs, frame.assign(customer_id=code, _postcode=postcode))
    out.attrs["placeholders"] = placeholders
    return out


def _pairs_on(code: pd.Series, key: pd.Series, max_group: int) -> tuple[pd.DataFrame, int]:
    """Pairs of codes sharing a key (groups of 2..max_group), and how many keys were placeholders."""
    rows = pd.DataFrame({"key": key.to_numpy(), "code": code.to_numpy()}).dropna()
    rows = rows.drop_duplicates()
    size = rows.groupby("key")["code"].transform("size")
    placeholders = int(rows.loc[size > max_group, "key"].nunique())
    rows = rows[(size >= 2) & (size <= max_group)]
    joined = rows.merge(rows, on="key", suffixes=("_a", "_b"))
    joined = joined[joined["code_a"] < joined["code_b"]]
    return pd.DataFrame({"customer_a": joined["code_a"].astype("string").to_numpy(),
                         "customer_b": joined["code_b"].astype("string").to_numpy()}), placeholders


def _combine(pairs: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per pair with its rules, strength and evidence text."""
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in PAIR_COLUMNS})
    order = {rule: i for i, rule in enumerate(RULES)}
    pairs = pairs.assign(_order=pairs["rule"].map(order)).sort_values(["customer_a", "customer_b", "_order"])
    pairs = pairs.drop_duplicates(["customer_a", "customer_b", "rule"])
    records = frame.drop_duplicates("customer_id").set_index("customer_id")
    a, b = records.reindex(pairs["customer_a"]), records.reindex(pairs["customer_b"])
    pairs["evidence"] = [_evidence(rule, ra, rb) for rule, ra, rb in
                         zip(pairs["rule"], a.itertuples(index=False), b.itertuples(index=False))]
    grouped = pairs.groupby(["customer_a", "customer_b"], sort=False)
    out = grouped.agg(rules=("rule", ", ".join), evidence=("evidence", "; ".join)).reset_index()
    strong = out["rules"].str.split(", ").map(lambda rules: any(r in STRONG_RULES for r in rules))
    out["strength"] = pd.Series(["strong" if s else "weak" for s in strong], dtype="string")
    out = out.assign(_weak=~strong.to_numpy(dtype=bool)).sort_values(["_weak", "customer_a", "customer_b"],
                                                                     kind="mergesort")
    return out[PAIR_COLUMNS].astype("string").reset_index(drop=True)


def _evidence(rule: str, a, b) -> str:
    """One sentence: the rule and the values as both records write them."""
    if rule == "email":
        return f"{RULE_LABELS[rule]}: {_quoted(a.email)} and {_quoted(b.email)}"
    if rule == "phone":
        return f"{RULE_LABELS[rule]}: {_quoted(a.phone)} and {_quoted(b.phone)}"
    names = f"{_quoted(_full_name(a))} and {_quoted(_full_name(b))}"
    if rule == "name_postcode":
        return f"{RULE_LABELS[rule]}: {names}, postcode {_quoted(a.postcode)} and {_quoted(b.postcode)}"
    return f"{RULE_LABELS[rule]}: {names}, city {_quoted(a.city)} and {_quoted(b.city)}"


def _full_name(record) -> str:
    return " ".join(str(v) for v in (record.first_name, record.last_name) if isinstance(v, str) and v)


def _quoted(value) -> str:
    return "(none)" if value is None or value is pd.NA or (isinstance(value, float) and value != value) \
        else repr(str(value))
