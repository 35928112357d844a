"""Customer 360 (placeholder until its owner writes the page)."""

import streamlit as st

from app.shell import guard_page

ctx = guard_page("customer.py")

st.title("Customer 360")
st.info("Coming soon: this page is being built.")
