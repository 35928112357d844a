"""The managers' half: policies, the review of offers (four-eyes), hand edits, campaigns and their export.

The documented library API (README, "Library use") is re-exported here as the workflow modules land.
"""

from crm_core.workflow.decisions import DecisionOutcome, decide_offers, reopen_offers, resubmit_offers

__all__ = ["DecisionOutcome", "decide_offers", "reopen_offers", "resubmit_offers"]
