"""Offers (placeholder until its owner writes the page)."""

import streamlit as st

from app.shell import guard_page

ctx = guard_page("offers.py")

st.title("Offers")
st.info("Coming soon: this page is being built.")
