"""Segments (placeholder until its owner writes the page)."""

import streamlit as st

from app.shell import guard_page

ctx = guard_page("segments.py")

st.title("Segments")
st.info("Coming soon: this page is being built.")
