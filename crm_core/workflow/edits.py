"""Offers changed by hand: an analyst swaps an offer's product or adds an offer for a customer.

The new offer goes through the same rules and gate as the engine's: its facts
come from :func:`crm_core.gate.offer_facts` over the customer's and the
product's own lines (:mod:`crm_core.workflow.edit_inputs`), at the run's as-of
date and with today (in the workspace's time zone) as the contact date; the
run's gate settings and the workspace's active policy judge it. It is
submitted by the editor, scored 0 (the engine did not choose it) and
explained as "Chosen by <user>: <reason>" (code ``MANUAL``).

An edited offer keeps the engine's original beside it: the new one points to
it (``original_offer_id``) and the original becomes ``superseded``. Only an
offer nobody has decided yet may be edited.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConflictError, NotFound, ValidationError
from crm_core.gate import GateConfig, gate_offers, offer_facts
from crm_core.ids import normalise_id
from crm_core.recommend.explain import MANUAL
from crm_core.recommend.settings import SCENARIOS
from crm_core.store.audit_log import record_event
from crm_core.store.frames import read_products
from crm_core.store.models import Customer, Offer, PipelineRun, Product, Workspace
from crm_core.views import workspaces
from crm_core.views.workspaces import workspace_info
from crm_core.workflow.edit_inputs import customer_at, customer_lines, pair_exports, pair_holdings
from crm_core.workflow.policy_lookup import workspace_policy
from crm_core.workflow.regate import UNDECIDED

DEAD_STATES = ("superseded", "rejected")  # an offer in these no longer stands for its customer and product


def edit_offer(db, actor: Actor, offer_id: int, product_id: str, *, reason: str | None = None) -> int:
    """Replace an undecided offer's product; the original is kept, ``superseded``.

    Args:
        db: the Database.
        actor: the editor (needs Action.SUBMIT_OFFERS); the new offer's submitter.
        offer_id: the offer to change (pending or flagged).
        product_id: the new product's code as the source gives it.
        reason: why (shown in the explanation and the audit log).
    Returns:
        The new offer's id (``origin="edited"``, same run, customer and scenario, next free rank).
    Raises:
        PermissionDenied: a viewer.
        NotFound: no such offer or product.
        ConflictError: the offer was decided (or edited) already.
        ValidationError: the product is the offer's own, not merchandise, or already offered
            to the customer in this run.
    """
    require(actor, Action.SUBMIT_OFFERS)
    with _same_moment_refused(), db.unit_of_work() as s:
        original = s.scalar(select(Offer).where(Offer.id == int(offer_id)).with_for_update())
        if original is None:
            raise NotFound(f"There is no offer #{offer_id}.")
        if original.state not in UNDECIDED:
            who = f" by {original.decided_by}" if original.decided_by else ""
            raise ConflictError(f"Offer #{offer_id} is {original.state}{who}: only a pending or flagged offer can "
                                "be edited; add a new offer for the customer instead.")
        product = _product(s, original.workspace_id, product_id)
        if product.id == original.product_id:
            raise ValidationError(f"Offer #{offer_id} already offers {product.product_code}; choose another product.")
        run, customer = s.get(PipelineRun, original.run_id), s.get(Customer, original.customer_id)
        new = _new_offer(db, s, actor, run, customer, product, scenario=original.scenario, origin="edited",
                         reason=reason, original_offer_id=original.id)
        done = s.execute(update(Offer).where(Offer.id == original.id, Offer.version == original.version,
                                             Offer.state.in_(UNDECIDED))
                         .values(state="superseded", version=Offer.version + 1)).rowcount
        if done != 1:
            raise ConflictError(f"Offer #{offer_id} changed while it was being edited; look at it again.")
        record_event(s, actor=actor, action="offer.edit", entity="offer", entity_id=new.id,
                     before={"offer_id": original.id, "product": _code(s, original.product_id),
                             "state": original.state, "version": original.version},
                     after=_event_after(new, product), reason=reason, workspace_id=original.workspace_id)
        return new.id


def add_offer(db, actor: Actor, run_id: int, customer_id: str, product_id: str, *, scenario: str = "CROSS_SELL",
              reason: str | None = None) -> int:
    """Add an offer for a customer of a run, gated like the engine's offers.

    Args:
        db: the Database.
        actor: who adds it (needs Action.SUBMIT_OFFERS); the offer's submitter.
        run_id: the pipeline run (succeeded) the offer belongs to.
        customer_id, product_id: codes as the source gives them.
        scenario: REBUY, CROSS_SELL, UPSELL, WINBACK or NURTURE.
        reason: why (shown in the explanation and the audit log).
    Returns:
        The new offer's id (``origin="added"``, the customer's next free rank in the run).
    Raises:
        PermissionDenied: a viewer.
        NotFound: no such run, customer or product.
        ValidationError: an unknown scenario, a run that did not succeed, a product that is
            not merchandise or is already offered to the customer in this run.
    """
    require(actor, Action.SUBMIT_OFFERS)
    scenario = str(scenario).strip().upper()
    if scenario not in SCENARIOS:
        raise ValidationError(f"Unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}.")
    with _same_moment_refused(), db.unit_of_work() as s:
        run = s.get(PipelineRun, int(run_id))
        if run is None:
            raise NotFound(f"There is no pipeline run #{run_id}.")
        if run.status != "succeeded":
            raise ValidationError(f"Run #{run_id} is {run.status}: add offers to a succeeded run.")
        customer = _customer(s, run.workspace_id, customer_id)
        product = _product(s, run.workspace_id, product_id)
        new = _new_offer(db, s, actor, run, customer, product, scenario=scenario, origin="added", reason=reason)
        record_event(s, actor=actor, action="offer.add", entity="offer", entity_id=new.id,
                     after=_event_after(new, product), reason=reason, workspace_id=run.workspace_id)
        return new.id


# --------------------------------------------------------------------------- the new offer


def _new_offer(db, s: Session, actor: Actor, run: PipelineRun, customer: Customer, product: Product, *,
               scenario: str, origin: str, reason: str | None, original_offer_id: int | None = None) -> Offer:
    """Insert the gated offer (pending, submitted by ``actor``) and return it."""
    if not product.is_merchandise:
        raise ValidationError(f"{product.product_code} is not merchandise (postage, a fee...): it is never offered.")
    live = s.scalar(select(Offer.id).where(Offer.run_id == run.id, Offer.customer_id == customer.id,
                                           Offer.product_id == product.id, Offer.state.not_in(DEAD_STATES)).limit(1))
    if live is not None:
        raise ValidationError(f"Customer {customer.customer_code} already has offer #{live} of "
                              f"{product.product_code} in this run.")
    # Imported here: crm_core.services.pipeline imports crm_core.workflow (policies), whose package
    # imports this module; at module level the two would meet half-initialised.

    workspace = workspace_info(s.get(Workspace, run.workspace_id))
    gate_config = GateConfig.from_dict(dict((run.config_json or {}).get("gate") or {}))
    policy = workspace_policy(s, run.workspace_id, gate_config)
    frame = pd.DataFrame({"customer_id": pd.array([customer.customer_code], dtype="string"),
                          "product_id": pd.array([product.product_code], dtype="string"),
                          "scenario": pd.array([scenario], dtype="string"), "score": [0.0]})
    gated = gate_offers(frame, _facts(db, s, run, customer, product, frame, workspaces.today_in(workspace), gate_config),
                        gate_config, policy).iloc[0]
    rank = int(s.scalar(select(func.max(Offer.rank)).where(Offer.run_id == run.id,
                                                           Offer.customer_id == customer.id)) or 0) + 1
    offer = Offer(workspace_id=run.workspace_id, run_id=run.id, customer_id=customer.id, product_id=product.id,
                  rank=rank, scenario=scenario, score=0.0, components_json={}, explanation_code=MANUAL,
                  explanation_params_json={"user": actor.username, "reason": (reason or "").strip() or None,
                                           "product": product.name or product.product_code},
                  expected_revenue=None, audit_score=int(gated["audit_score"]), gate=str(gated["gate"]),
                  flags=str(gated["flags"]) or None, state="pending", submitted_by=actor.username, version=1,
                  policy_name=policy.name, policy_version=policy.version, facts_json=dict(gated["facts"]),
                  origin=origin, original_offer_id=original_offer_id)
    s.add(offer)
    s.flush()
    return offer


def _facts(db, s: Session, run: PipelineRun, customer: Customer, product: Product, offers: pd.DataFrame,
           contact_date: dt.date, gate_config: GateConfig) -> pd.DataFrame:
    """The gate's facts of the one-row ``offers`` from the customer's and the product's own rows."""
    codes = (customer.customer_code, product.product_code)
    products = read_products(db, run.workspace_id)
    return offer_facts(offers, customers=customer_at(s, customer.id, customer.customer_code, contact_date),
                       products=products[products["product_id"] == product.product_code],
                       transactions=customer_lines(s, run.workspace_id, customer.id, product.id),
                       holdings=pair_holdings(s, customer.id, product.id, codes),
                       previous_exports=pair_exports(s, customer.id, product.id, codes),
                       as_of=run.as_of, contact_date=contact_date, config=gate_config)


# --------------------------------------------------------------------------- lookups


@contextlib.contextmanager
def _same_moment_refused():
    """Two editors taking the customer's next rank at once (PostgreSQL): the second is told to try again."""
    try:
        yield
    except IntegrityError:
        raise ConflictError("Someone else added an offer for this customer at the same moment; "
                            "look at the customer's offers and try again.") from None


def _customer(s: Session, workspace_id: int, code: str) -> Customer:
    """The workspace's customer with this code (as given, else normalised); NotFound otherwise."""
    for candidate in dict.fromkeys([str(code).strip(), normalise_id(code)]):
        found = candidate and s.scalar(select(Customer).where(Customer.workspace_id == workspace_id,
                                                              Customer.customer_code == candidate))
        if found:
            return found
    raise NotFound(f"There is no customer {code!r} in this workspace.")


def _product(s: Session, workspace_id: int, code: str) -> Product:
    """The workspace's product with this code (as given, normalised, or upper-cased); NotFound otherwise."""
    normal = normalise_id(code)
    for candidate in dict.fromkeys([str(code).strip(), normal, normal and normal.upper()]):
        found = candidate and s.scalar(select(Product).where(Product.workspace_id == workspace_id,
                                                             Product.product_code == candidate))
        if found:
            return found
    raise NotFound(f"There is no product {code!r} in this workspace.")


def _code(s: Session, product_pk: int) -> str | None:
    return s.scalar(select(Product.product_code).where(Product.id == product_pk))


def _event_after(offer: Offer, product: Product) -> dict:
    """What an audit event says about a new hand-made offer (ids and codes, no personal data)."""
    return {"offer_id": offer.id, "run_id": offer.run_id, "customer_pk": offer.customer_id,
            "product": product.product_code, "rank": offer.rank, "scenario": offer.scenario, "origin": offer.origin,
            "gate": offer.gate, "audit_score": offer.audit_score, "flags": offer.flags,
            "policy": {"name": offer.policy_name, "version": offer.policy_version}}
