"""The managers' half: policies, the review of offers (four-eyes), hand edits, campaigns and their export.

The documented library API (README, "Library use") is re-exported here as the workflow modules land.
"""

from crm_core.workflow.decisions import DecisionOutcome, decide_offers, reopen_offers, resubmit_offers
from crm_core.workflow.campaigns import create_campaign
from crm_core.workflow.export import export_campaign

__all__ = ["DecisionOutcome", "decide_offers", "reopen_offers", "resubmit_offers"]
__all__ += ["create_campaign", "export_campaign"]
