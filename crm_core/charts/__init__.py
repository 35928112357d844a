"""Plotly figure builders: pure functions, data in, figure out."""
