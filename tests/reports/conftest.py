"""Fixtures of the report tests (the worlds live in tests/reports/report_world.py)."""

from tests.reports.report_world import small_world  # noqa: F401 (a fixture)
