"""Run pipeline (placeholder until its owner writes the page)."""

import streamlit as st

from app.shell import guard_page

ctx = guard_page("run_pipeline.py")

st.title("Run pipeline")
st.info("Coming soon: this page is being built.")
