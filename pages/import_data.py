"""Import data (placeholder until its owner writes the page)."""

import streamlit as st

from app.shell import guard_page

ctx = guard_page("import_data.py", require_workspace=False)

st.title("Import data")
st.info("Coming soon: this page is being built.")
