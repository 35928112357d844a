"""Hand-built offers for the decision tests: one workspace, one succeeded run, N offers inserted directly.

Faster than running the pipeline (1,000 offers in well under a second), and every
value the tests rely on is chosen here: who submitted, the gate, the flags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, insert, select

from crm_core.store.models import AuditEvent, Customer, Decision, Offer, PipelineRun, Product, Workspace

AS_OF = dt.date(2024, 3, 28)


def insert_pending_offers(db, n: int = 1_000, *, submitted_by: str = "ann", gates: Sequence[str] = ("REVIEW",),
                          workspace: str = "shop") -> list[int]:
    """``n`` pending offers (version 1) of one run, one per customer, submitted by ``submitted_by``.

    Offer ``i`` has gate ``gates[i % len(gates)]``, score ``1 - i / n`` and customer ``C{i:05d}``.
    Returns:
        The offer ids in insertion order.
    """
    with db.unit_of_work() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == workspace))
        if ws is None:
            ws = Workspace(name=workspace, kind="retail", currency="GBP", currency_decimals=2)
            s.add(ws)
            s.flush()
        run = PipelineRun(workspace_id=ws.id, run_uuid=f"{workspace}-{n}-{submitted_by}-{_count(s, PipelineRun)}",
                          status="succeeded", as_of=AS_OF, config_json={}, config_hash="c", data_hash="d",
                          created_by=submitted_by)
        product = Product(workspace_id=ws.id, product_code=f"P{_count(s, Product)}", name="Teapot", family="Kitchen")
        s.add_all([run, product])
        s.flush()
        first = _count(s, Customer)
        s.execute(insert(Customer.__table__), [
            {"workspace_id": ws.id, "customer_code": f"C{first + i:05d}"} for i in range(n)])
        customer_ids = s.scalars(select(Customer.id).where(Customer.workspace_id == ws.id)
                                 .order_by(Customer.id).offset(first)).all()
        s.execute(insert(Offer.__table__), [
            {"workspace_id": ws.id, "run_id": run.id, "customer_id": c, "product_id": product.id, "rank": 1,
             "scenario": "CROSS_SELL", "score": 1 - i / n, "components_json": {}, "explanation_code": "POPULAR",
             "explanation_params_json": {}, "gate": gates[i % len(gates)], "audit_score": 80, "flags": None,
             "state": "pending", "submitted_by": submitted_by, "version": 1, "origin": "engine"}
            for i, c in enumerate(customer_ids)])
        return list(s.scalars(select(Offer.id).where(Offer.run_id == run.id).order_by(Offer.id)))


def _count(s, model) -> int:
    return int(s.scalar(select(func.count()).select_from(model)) or 0)


def offer_states(db, ids: Sequence[int]) -> dict[int, tuple[str, int, str | None]]:
    """Offer id -> (state, version, decided_by)."""
    with db.read() as s:
        rows = s.execute(select(Offer.id, Offer.state, Offer.version, Offer.decided_by)
                         .where(Offer.id.in_(list(ids)))).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def decisions_per_offer(db) -> dict[int, int]:
    """Offer id -> how many decision rows it has."""
    with db.read() as s:
        rows = s.execute(select(Decision.offer_id, func.count()).group_by(Decision.offer_id)).all()
    return {r[0]: r[1] for r in rows}


def offer_events(db) -> list[tuple]:
    """The audit events about offers, oldest first: (action, entity_id, actor, role, reason, before, after)."""
    e = AuditEvent
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(e.action, e.entity_id, e.actor, e.actor_role, e.reason,
                                                   e.before_json, e.after_json)
                                            .where(e.entity == "offer").order_by(e.id))]
