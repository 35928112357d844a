"""The managers' half: policies, the review of offers (four-eyes), hand edits, campaigns and their export.

The documented library API (README, "Library use") is re-exported here as the workflow modules land.
"""
