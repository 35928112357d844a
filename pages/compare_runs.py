"""Compare runs (placeholder until its owner writes the page)."""

import streamlit as st

from app.shell import guard_page

ctx = guard_page("compare_runs.py")

st.title("Compare runs")
st.info("Coming soon: this page is being built.")
