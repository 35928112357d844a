"""The consent that applies is the one valid at the contact date, read through the store's dated attributes."""

from __future__ import annotations

import datetime as dt

from crm_core.gate import GateConfig, gate_offers, offer_facts
from crm_core.store.frames import read_customers
from crm_core.store.models import Customer, CustomerAttribute, Workspace
from tests.gate.builders import AS_OF, ago, offers_frame
from tests.recommend.worlds import make_tx


def _workspace_with_dated_consent(db) -> int:
    """C1 opts in long ago and opts out 10 days after the as-of date; C2 is do-not-contact until 5 days after."""
    with db.unit_of_work() as s:
        ws = Workspace(name="dated")
        s.add(ws)
        s.flush()
        c1, c2 = Customer(workspace_id=ws.id, customer_code="C1"), Customer(workspace_id=ws.id, customer_code="C2")
        s.add_all([c1, c2])
        s.flush()

        def at(days_after_as_of: int) -> dt.datetime:
            return dt.datetime.combine(AS_OF + dt.timedelta(days=days_after_as_of), dt.time(9, 0))

        s.add_all([
            CustomerAttribute(workspace_id=ws.id, customer_id=c1.id, attribute="email_opt_in", value="true",
                              effective_from=at(-300)),
            CustomerAttribute(workspace_id=ws.id, customer_id=c1.id, attribute="email_opt_in", value="false",
                              effective_from=at(10)),
            CustomerAttribute(workspace_id=ws.id, customer_id=c2.id, attribute="email_opt_in", value="true",
                              effective_from=at(-300)),
            CustomerAttribute(workspace_id=ws.id, customer_id=c2.id, attribute="do_not_contact", value="true",
                              effective_from=at(-50)),
            CustomerAttribute(workspace_id=ws.id, customer_id=c2.id, attribute="do_not_contact", value="false",
                              effective_from=at(5)),
        ])
        return ws.id


def _gate(db, ws: int, contact_date: dt.date):
    offers = offers_frame(("C1", "MUG"), ("C2", "MUG"))
    tx = make_tx([("C1", "a", ago(40), "LAMP", 20.0), ("C2", "b", ago(40), "LAMP", 20.0),
                  ("C9", "c", ago(5), "MUG", 10.0)])
    config = GateConfig()
    facts = offer_facts(offers, customers=read_customers(db, ws, as_of=contact_date), products=None, transactions=tx,
                        holdings=None, previous_exports=None, as_of=AS_OF, contact_date=contact_date, config=config)
    return gate_offers(offers, facts, config)


def test_consent_valid_at_the_contact_date_applies_not_the_one_at_the_as_of_date(db):
    ws = _workspace_with_dated_consent(db)
    on_as_of = _gate(db, ws, AS_OF)
    assert on_as_of["flags"].tolist() == ["NO_PITCH", "DO_NOT_CONTACT;NO_PITCH"]
    later = _gate(db, ws, AS_OF + dt.timedelta(days=20))  # C1 has opted out since; C2 may be contacted again
    assert later["flags"].tolist() == ["NO_PITCH;OPTED_OUT", "NO_PITCH"]
    assert later["gate"].tolist() == ["BLOCK", "PASS"]
