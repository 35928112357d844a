"""The managers' half: policies, the review of offers (four-eyes), hand edits, campaigns and their export.

The documented library API (README, "Library use"), used by the pages themselves::

    decide_offers(db, actor, offer_ids, decision, *, reason=None, versions=None) -> DecisionOutcome
    resubmit_offers(db, actor, offer_ids, *, note=None)        reopen_offers(db, actor, offer_ids, *, reason)
    create_campaign(db, actor, name, offer_ids, *, holdout_share=0.0) -> campaign id
    export_campaign(db, actor, campaign_id, path)               (.csv or .xlsx by the path's suffix)
    edit_offer(db, actor, offer_id, product_id, *, reason=None) -> new offer id
    add_offer(db, actor, run_id, customer_id, product_id, *, scenario="CROSS_SELL", reason=None) -> offer id
    save_policy(db, actor, body) -> Policy                      set_active_policy(db, actor, workspace_id, name)

``db`` is a :class:`crm_core.store.Database`, ``actor`` a :class:`crm_core.auth.Actor`; a call by a
role that may not act raises :class:`crm_core.errors.PermissionDenied`.
"""

from crm_core.workflow.campaigns import create_campaign
from crm_core.workflow.decisions import DecisionOutcome, decide_offers, reopen_offers, resubmit_offers
from crm_core.workflow.edits import add_offer, edit_offer
from crm_core.workflow.export import export_campaign
from crm_core.workflow.policies import save_policy, set_active_policy
from crm_core.workflow.regate import regate_offers

__all__ = ["DecisionOutcome", "add_offer", "create_campaign", "decide_offers", "edit_offer", "export_campaign",
           "regate_offers", "reopen_offers", "resubmit_offers", "save_policy", "set_active_policy"]
