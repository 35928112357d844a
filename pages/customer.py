"""Customer 360: one customer's master data, purchases, RFM scores, segment, persona, value, holdings and offers."""

from __future__ import annotations

import streamlit as st

from app.page_data import customer_search
from app.pitch_assistant import pitch_assistant
from app.shell import (CUSTOMER_KEY, KpiCard, format_count, format_money, guard_page, kpi_row, one_line,
                       selected_customer_id, show_error, shown)
from crm_core.charts.customer import purchase_timeline
from crm_core.errors import NextBestError
from crm_core.views import runs
from crm_core.views.customer import customer_360
from crm_core.views.merges import merged_into

ctx = guard_page("customer.py")
ws = ctx.workspace
OFFER_TABLE_COLUMNS = ["rank", "product_id", "product_name", "family", "scenario", "score", "expected_revenue",
                 "explanation", "audit_score", "gate", "flags", "state"]


def _yes_no(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _show(customer_id: str) -> None:
    st.session_state[CUSTOMER_KEY] = customer_id
    st.query_params[CUSTOMER_KEY] = customer_id


st.title("Customer 360")
search, run_col = st.columns([3, 2])
with search:
    text = st.text_input("Find a customer", key="cust_search", placeholder="id, name or email",
                         help="Part of the customer id, the name or the email address.")
if text.strip():
    matches = customer_search(ctx.db, ws.id, text)
    if matches.empty:
        st.info(f"No customer matches {shown(text.strip(), 60)}.")
    else:
        labels = {r.customer_id: one_line(" · ".join(str(v) for v in (r.customer_id, r.name, r.city)
                                                  if isinstance(v, str)), 100)
                  for r in matches.itertuples(index=False)}
        m1, m2 = st.columns([3, 1], vertical_alignment="bottom")
        match = m1.selectbox(f"{len(matches)} match(es)", list(labels), format_func=labels.get, key="cust_match")
        if m2.button("Show", key="cust_show", type="primary"):
            _show(match)

available = runs.succeeded_runs(ctx.db, ws.id)
by_id = {r.id: r for r in available}
with run_col:
    run_id = st.selectbox("Run", list(by_id), format_func=lambda i: by_id[i].label, key="cust_run",
                          disabled=not by_id, placeholder="no run yet",
                          help="Scores, segment and value as of this run (newest first).")

customer_id = selected_customer_id()
if customer_id is None:
    st.info("Search for a customer above, or open one from the customer list of the **Segments** page.")
    st.stop()
try:
    view = customer_360(ctx.db, ws.id, customer_id, run_id=run_id)
except NextBestError as exc:
    show_error(exc)
    st.stop()

master = view.master
st.header(f"{shown(view.name, 80) if view.name else 'Customer'} · {shown(view.customer_id, 40)}")
place = ", ".join(shown(v, 60) for v in (master["city"], master["region"]) if v)
contact = " · ".join(shown(v, 80) for v in (master["email"], master["phone"]) if v)
st.caption(" · ".join(v for v in (place, contact) if v) or "No master data loaded for this customer.")
survivor = merged_into(ctx.db, ws.id).get(view.customer_id)
if survivor:
    st.warning(f"This record was merged into {shown(survivor, 40)}: its sales, holdings and offers are shown "
               "there (a manager can undo the merge on the Duplicates page).")
    if st.button(f"Open {shown(survivor, 40)}", key="cust_open_survivor"):
        _show(survivor)
        st.rerun()
attrs = view.attributes
as_of_text = f"as of {view.as_of:%d %b %Y}" if view.as_of else "latest"
contacted = attrs["last_contacted_at"]
contacted_text = f"{contacted:%d %b %Y}" if contacted else "never recorded"
st.markdown(f"Email opt-in **{_yes_no(attrs['email_opt_in'])}** · do not contact "
            f"**{_yes_no(attrs['do_not_contact'])}** · last contacted **{contacted_text}**")
st.caption(f"Consent and contact {as_of_text}.")

scores = view.scores
if view.run is None:
    st.info("No pipeline run yet: scores, segment and value appear after an analyst runs the pipeline.")
elif scores is None:
    st.info(f"{shown(view.customer_id, 40)} is not in run #{view.run.id}: no sale on or before "
            f"{view.run.as_of:%d %b %Y}.")
else:
    note = view.run.value_model_note
    kpi_row([
        KpiCard("Segment", scores.segment.label if scores.segment else "–",
                scores.segment.description if scores.segment else None),
        KpiCard("Persona", scores.persona_name or "–", f"Cluster {scores.cluster}." if scores.cluster else None),
    ])
    kpi_row([
        KpiCard("Predicted value (CLV)", format_money(scores.clv, ws), note or "Expected revenue over the horizon."),
        KpiCard("Expected purchases", "–" if scores.expected_purchases is None
                else f"{scores.expected_purchases:.1f}", note or "Purchase days expected over the horizon."),
        KpiCard("P(alive)", "–" if scores.p_alive is None else f"{scores.p_alive:.0%}", note),
        KpiCard("Churn risk", (scores.churn_risk or "–").capitalize(),
                note if scores.churn_score is None else f"Churn score {scores.churn_score:.2f}."),
    ])
    kpi_row([
        KpiCard("Recency (days)", format_count(scores.recency_days),
                f"Days from the last purchase ({scores.last_purchase:%d %b %Y}) to the run's date."),
        KpiCard("Orders", format_count(scores.frequency), f"Customer since {scores.first_purchase:%d %b %Y}."),
        KpiCard("Net total", format_money(scores.monetary, ws), "Sales minus returns up to the run's date."),
        KpiCard("RFM scores", f"R{scores.r_score} F{scores.f_score} M{scores.m_score}",
                "1 (lowest) to 5 (highest) among this run's customers; R5 = most recent."),
    ])
    if scores.segment:
        st.info(f"**{scores.segment.label}**: {scores.segment.description}  \n"
                f"**Suggested action:** {scores.segment.action}")
    if scores.persona_description:
        st.caption(f"**{shown(scores.persona_name)}**: {shown(scores.persona_description, 400)}")

st.plotly_chart(purchase_timeline(view.purchases, as_of=view.as_of, currency=ws.currency), key="cust_timeline")
with st.expander(f"Purchase lines ({len(view.purchases):,})"):
    st.dataframe(view.purchases, hide_index=True, key="cust_purchases",
                 column_config={"invoice_date": st.column_config.DatetimeColumn("Date", format="YYYY-MM-DD HH:mm"),
                                "amount": st.column_config.NumberColumn(f"Amount {ws.currency}", format="%.2f"),
                                "after_as_of": "After the run's date"})

if len(view.holdings):
    st.subheader("Holdings")
    st.dataframe(view.holdings, hide_index=True, key="cust_holdings",
                 column_config={"balance": st.column_config.NumberColumn(f"Balance {ws.currency}", format="%.2f"),
                                "held": st.column_config.CheckboxColumn(f"Held {as_of_text}")})

st.subheader("Offers")
if view.offers is None:
    st.caption(shown(view.offers_note, 400))
elif view.offers.empty:
    st.caption("No offer for this customer in this run.")
else:
    st.dataframe(view.offers.reindex(columns=[c for c in OFFER_TABLE_COLUMNS if c in view.offers.columns]),
                 hide_index=True, key="cust_offers",
                 column_config={"rank": "Rank", "product_id": "Product", "product_name": "Name", "family": "Family",
                                "scenario": "Scenario", "score": st.column_config.NumberColumn("Score", format="%.2f"),
                                "expected_revenue": st.column_config.NumberColumn(f"Expected {ws.currency}",
                                                                                  format="%.2f"),
                                "explanation": st.column_config.TextColumn("Why", width="large"),
                                "audit_score": "Audit score", "gate": "Gate", "flags": "Flags", "state": "State"})
    st.subheader("Pitch")
    offer_labels = {int(r.offer_id): one_line(f"#{r.rank} {r.product_name} ({r.scenario}, gate {r.gate})", 100)
                    for r in view.offers.itertuples(index=False)}
    chosen = st.selectbox("Offer", list(offer_labels), format_func=offer_labels.get, key="cust_pitch_offer",
                          help="Draft, read or edit the pitch of one of this customer's offers.")
    pitch_assistant(ctx, chosen, key_prefix="cust_pitch")
