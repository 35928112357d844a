"""Properties that hold for any facts: scores in range, errors block, the flags text and details agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.gate import (BUILTIN_POLICIES, FACT_COLUMNS, FLAG_CODES, FLAGS, RULES, GateConfig, Policy,
                           evaluate_rules)

maybe_bool = st.sampled_from([True, False, None])
days = st.one_of(st.none(), st.integers(-5, 900))
facts_row = st.fixed_dictionaries({
    "scenario": st.sampled_from(["REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE"]),
    "score": st.floats(0, 1), "email_opt_in": maybe_bool, "do_not_contact": maybe_bool,
    "days_since_contact": days, "held": st.booleans(), "days_since_bought": days,
    "repurchase_days": st.floats(1, 400), "product_active": st.booleans(),
    "price": st.one_of(st.none(), st.floats(0, 2000)), "basket": st.one_of(st.none(), st.floats(0, 500)),
    "purchases": st.integers(0, 30), "days_since_first": days, "days_since_last_line": days,
    "margin_rate": st.one_of(st.none(), st.floats(-1, 1)), "days_since_exported": days,
    "has_pitch": st.booleans(), "pitch_failures": st.sampled_from(["", "TONE", "PRICE_CLAIM;TONE"]),
})


def frame(rows: list[dict]) -> pd.DataFrame:
    f = pd.DataFrame(rows)
    f["consent_known"] = f["email_opt_in"].notna() | f["do_not_contact"].notna()
    f["last_contacted_at"] = pd.NaT
    f["price_source"] = np.where(f["price"].notna(), "catalog", None)
    return f[list(FACT_COLUMNS)].astype(FACT_COLUMNS)


def test_every_flag_code_has_exactly_one_rule_in_catalogue_order():
    assert tuple(RULES) == FLAG_CODES == tuple(FLAGS)


@settings(max_examples=60, deadline=None)
@given(st.lists(facts_row, min_size=1, max_size=25),
       st.sampled_from([*BUILTIN_POLICIES.values(), Policy("zero", 1, review_below=0, block_below=0)]))
def test_verdicts_are_consistent_for_any_facts(rows, policy):
    v = evaluate_rules(frame(rows), GateConfig(), policy)
    assert v["audit_score"].between(0, 100).all()
    for flags, details, score, gate, worst in zip(v["flags"], v["flag_details"], v["audit_score"], v["gate"],
                                                  v["worst_severity"]):
        codes = [d["code"] for d in details]
        assert flags == ";".join(sorted(codes))
        severities = {d["severity"] for d in details}
        assert ("ERROR" in severities) == (worst == "ERROR")
        if worst == "ERROR" or score < policy.block_below:
            assert gate == "BLOCK"
        elif score < policy.review_below:
            assert gate == "REVIEW"
        if gate == "PASS":
            assert score >= policy.review_below and "ERROR" not in severities
        if "THIN_DATA" in codes:
            assert "STALE_DATA" not in codes
